"""Moved to `orchestrator.load.in_locust.runtime`; this name stays until `users.py` (edited elsewhere now, and
moving into `in_locust/` next) imports it from there."""

from orchestrator.load.in_locust.runtime import InFlight, LoadRuntime, get_runtime, set_runtime

__all__ = ["InFlight", "LoadRuntime", "get_runtime", "set_runtime"]
