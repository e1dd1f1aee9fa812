"""Values the client returns: generation results, stream events, server timings and per-call statistics.

Plain slotted dataclasses built straight from TGI's JSON (no per-field validation), so a streamed token costs one
`json.loads` and one small object. `details` stay TGI's own dicts: their shape is documented by TGI's OpenAPI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CallStats", "GenerateResult", "ServerTimings", "TokenEvent"]


@dataclass(slots=True)
class CallStats:
    """What one call cost: attempts made, why each retry happened, time slept between attempts, endpoints used.

    `outcome` is `ok`, or why the call gave up: `fatal` (not retryable), `attempts`, `deadline` or `budget`.
    For streams the call ends when the first token has arrived, so `elapsed` is the time to first token.
    """

    attempts: int = 0
    reasons: list[str] = field(default_factory=list)
    waited: float = 0.0
    elapsed: float = 0.0
    endpoints: list[str] = field(default_factory=list)
    outcome: str = "pending"

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)


def _int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ServerTimings:
    """TGI's timing headers on non-streamed responses (`x-compute-time` in seconds, the others in ms)."""

    compute_time: float | None = None
    total_time_ms: int | None = None
    validation_time_ms: int | None = None
    queue_time_ms: int | None = None
    inference_time_ms: int | None = None
    time_per_token_ms: int | None = None
    prompt_tokens: int | None = None
    generated_tokens: int | None = None
    compute_type: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> ServerTimings:
        return cls(
            compute_time=_float(headers, "x-compute-time"),
            total_time_ms=_int(headers, "x-total-time"),
            validation_time_ms=_int(headers, "x-validation-time"),
            queue_time_ms=_int(headers, "x-queue-time"),
            inference_time_ms=_int(headers, "x-inference-time"),
            time_per_token_ms=_int(headers, "x-time-per-token"),
            prompt_tokens=_int(headers, "x-prompt-tokens"),
            generated_tokens=_int(headers, "x-generated-tokens"),
            compute_type=headers.get("x-compute-type"),
        )


@dataclass(frozen=True, slots=True)
class GenerateResult:
    """A non-streamed generation: text, TGI's `details` dict (None unless asked), timings, call statistics."""

    text: str
    details: dict[str, Any] | None
    timings: ServerTimings
    stats: CallStats
    endpoint: str

    @property
    def finish_reason(self) -> str | None:
        return None if self.details is None else self.details.get("finish_reason")

    @property
    def generated_tokens(self) -> int | None:
        if self.details is not None and "generated_tokens" in self.details:
            return int(self.details["generated_tokens"])
        return self.timings.generated_tokens


@dataclass(frozen=True, slots=True)
class TokenEvent:
    """One streamed token. The last event also carries `generated_text` and TGI's final `details`."""

    index: int
    id: int
    text: str
    logprob: float | None
    special: bool
    generated_text: str | None = None
    details: dict[str, Any] | None = None
    top_tokens: list[dict[str, Any]] | None = None

    @property
    def is_final(self) -> bool:
        return self.generated_text is not None
