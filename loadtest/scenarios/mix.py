"""Scenario `mix`: every TGI user by weight. `locust -f loadtest/scenarios/mix.py --host URL`."""

from orchestrator.load.locustfile import *  # noqa: F403
