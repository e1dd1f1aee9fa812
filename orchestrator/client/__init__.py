"""A retrying client for TGI and vLLM deployments: `TGIClient` (blocking) and `AsyncTGIClient` (asyncio), also
named `Client` and `AsyncClient`: the same classes, engine-neutral names.

retry.py      RetryPolicy, classify(exc), RetryBudget; wires tenacity's Retrying / AsyncRetrying
retry_loop.py the one retry loop (run_sync) that drives it
errors.py     TGIError and its subtree (validation, overloaded, generation, unavailable, deadline, ...)
translate.py  huggingface_hub / httpx2 / SSE error events (TGI's and vLLM's bodies) -> that tree
protocol.py   request bodies, response parsing, stream state and event typing over `formats.sse` (no I/O)
openai_protocol.py  the same for vLLM's `/v1/completions` and `/v1/chat/completions` (no I/O)
wire.py       one engine's routes, bodies and readers (`Wire`); given by `engine=` or detected
endpoints.py  replica balancing: fewest in flight, cool-down after connection errors and 503
presets.py    named sampling presets (MISTRAL_MODEL_CARD)
base.py       construction, secrets, local tokenizer, per-call statistics, each method's preparation
chat_call.py  a prepared chat call: huggingface_hub's arguments (TGI) or a raw body, and its parsers
sync_client.py  the thin shell that moves bytes (blocking); the one source of both clients
streams.py    the open streams handed to callers (blocking); open_stream.py holds their shared state
async_*.py    GENERATED from sync_client.py, streams.py, retry_loop.py by `python -m orchestrator.client._generate_async`
"""

from __future__ import annotations

from orchestrator.client.async_client import AsyncTGIClient
from orchestrator.client.async_streams import AsyncChatStream, AsyncTokenStream
from orchestrator.client.errors import (
    TGIAuthenticationError,
    TGIDeadlineExceededError,
    TGIError,
    TGIGenerationError,
    TGIOverloadedError,
    TGIStreamInterruptedError,
    TGIUnavailableError,
    TGIValidationError,
)
from orchestrator.client.presets import GREEDY, MISTRAL_MODEL_CARD, SamplingPreset
from orchestrator.client.results import CallStats, GenerateResult, ServerTimings, TokenEvent
from orchestrator.client.retry import RetryBudget, RetryPolicy, Verdict, classify
from orchestrator.client.streams import ChatStream, TokenStream
from orchestrator.client.sync_client import TGIClient

Client = TGIClient
"""`TGIClient` by an engine-neutral name: it speaks TGI and vLLM."""
AsyncClient = AsyncTGIClient
"""`AsyncTGIClient` by an engine-neutral name."""

__all__ = [
    "GREEDY",
    "MISTRAL_MODEL_CARD",
    "AsyncChatStream",
    "AsyncClient",
    "AsyncTGIClient",
    "AsyncTokenStream",
    "CallStats",
    "ChatStream",
    "Client",
    "GenerateResult",
    "RetryBudget",
    "RetryPolicy",
    "SamplingPreset",
    "ServerTimings",
    "TGIAuthenticationError",
    "TGIClient",
    "TGIDeadlineExceededError",
    "TGIError",
    "TGIGenerationError",
    "TGIOverloadedError",
    "TGIStreamInterruptedError",
    "TGIUnavailableError",
    "TGIValidationError",
    "TokenEvent",
    "TokenStream",
    "Verdict",
    "classify",
]
