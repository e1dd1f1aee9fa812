"""Scenario `client`: only `ClientUser` (through `TGIClient`). `locust -f loadtest/scenarios/client.py --host URL`."""

from orchestrator.load.in_locust import plugin  # noqa: F401 - registers options and listeners
from orchestrator.load.in_locust.client_user import ClientUser

__all__ = ["ClientUser"]
