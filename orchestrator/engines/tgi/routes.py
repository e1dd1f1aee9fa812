"""TGI's HTTP routes [tgi-server.md §4], as named constants for the client, smoke checks and load tests."""

from __future__ import annotations

__all__ = ["CHAT", "COMPLETIONS", "GENERATE", "GENERATE_STREAM", "HEALTH", "INFO", "METRICS"]

HEALTH = "/health"
INFO = "/info"
METRICS = "/metrics"
GENERATE = "/generate"
GENERATE_STREAM = "/generate_stream"
CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
