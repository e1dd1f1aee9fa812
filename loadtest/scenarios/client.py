"""Scenario `client`: only `ClientUser` (through `TGIClient`). `locust -f loadtest/scenarios/client.py --host URL`."""

from orchestrator.load.client_user import ClientUser
from orchestrator.load.in_locust import plugin  # noqa: F401 - registers options and listeners

__all__ = ["ClientUser"]
