"""Locustfile used by `orchestrator load` (and by `loadtest/locustfile.py`): every TGI user, weighted mix.

Pick users by class name on Locust's command line (`StreamUser`, `GenerateUser`, `ChatUser`, `ClientUser`);
with none named, Locust runs all of them by their weights (generate 1, stream 2, chat 2, client 1).
"""

from orchestrator.load.in_locust import plugin  # noqa: F401 - registers options and listeners
from orchestrator.load.in_locust.client_user import ClientUser
from orchestrator.load.in_locust.users import ChatUser, GenerateUser, StreamUser

__all__ = ["ChatUser", "ClientUser", "GenerateUser", "StreamUser"]
