"""vLLM's error bodies and what each error type means [vllm-server.md §5, "Error body"].

Since 0.10.1 an error is `{"error": {"message", "type", "param", "code"}}` (before: the same fields flat, with
`"object": "error"`); the API-key middleware answers 401 `{"error": "Unauthorized"}` (a plain string), and
unknown routes get FastAPI's `{"detail": "Not Found"}`. `KINDS` says, per vLLM error type, which of the
engine-neutral kinds it is, so the client maps it onto its error tree without knowing vLLM's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["KINDS", "VllmError", "parse_error"]

KINDS: Mapping[str, str] = {
    "BadRequestError": "validation",
    "Bad Request": "validation",
    "NotFoundError": "validation",
    "InternalServerError": "generation",
    "Service Unavailable": "unavailable",
}
"""vLLM error `type` -> kind: `validation` (the request is wrong: schema, sampling checks, prompt too long, unknown
model), `generation` (the engine failed on the request: 500), `unavailable` (503: the engine is busy)."""


@dataclass(frozen=True)
class VllmError:
    """One error as vLLM reports it; `code` is the HTTP status it names (None when the body gives none)."""

    message: str
    type: str | None
    param: str | None
    code: int | None


def parse_error(payload: Any) -> VllmError | None:
    """The error in a decoded vLLM body (any of its shapes), or None when `payload` is no vLLM error."""
    if not isinstance(payload, Mapping):
        return None
    raw = payload.get("error")
    if isinstance(raw, Mapping):
        fields: Mapping[str, Any] = raw
    elif payload.get("object") == "error":
        fields = payload
    elif isinstance(raw, str):
        return VllmError(raw, None, None, None)
    elif isinstance(payload.get("detail"), str):
        return VllmError(payload["detail"], None, None, None)
    else:
        return None
    code = fields.get("code")
    return VllmError(
        message=str(fields.get("message", "")),
        type=fields["type"] if isinstance(fields.get("type"), str) else None,
        param=fields["param"] if isinstance(fields.get("param"), str) else None,
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
    )
