"""Scenario `stream`: only `StreamUser`. `locust -f loadtest/scenarios/stream.py --host URL`."""

from orchestrator.load.in_locust import plugin  # noqa: F401 - registers options and listeners
from orchestrator.load.in_locust.users import StreamUser

__all__ = ["StreamUser"]
