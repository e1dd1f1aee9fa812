"""Scenario `generate`: only `GenerateUser`. `locust -f loadtest/scenarios/generate.py --host URL`."""

from orchestrator.load.in_locust import plugin  # noqa: F401 - registers options and listeners
from orchestrator.load.in_locust.users import GenerateUser

__all__ = ["GenerateUser"]
