"""vLLM's HTTP routes [vllm-server.md §5], as named constants for the client, smoke checks and load tests."""

from __future__ import annotations

__all__ = [
    "CHAT",
    "COMPLETIONS",
    "DETOKENIZE",
    "HEALTH",
    "LOAD",
    "METRICS",
    "MODELS",
    "PING",
    "TOKENIZE",
    "VERSION",
]

HEALTH = "/health"
PING = "/ping"
VERSION = "/version"
LOAD = "/load"
METRICS = "/metrics"
MODELS = "/v1/models"
COMPLETIONS = "/v1/completions"
CHAT = "/v1/chat/completions"
TOKENIZE = "/tokenize"
DETOKENIZE = "/detokenize"
