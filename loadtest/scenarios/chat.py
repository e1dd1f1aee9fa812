"""Scenario `chat`: only `ChatUser`. `locust -f loadtest/scenarios/chat.py --host URL`."""

from orchestrator.load.in_locust import plugin  # noqa: F401 - registers options and listeners
from orchestrator.load.in_locust.users import ChatUser

__all__ = ["ChatUser"]
