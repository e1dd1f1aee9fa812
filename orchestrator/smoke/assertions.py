"""What every smoke check asserts with: the failure and skip signals, and strict readers of an HTTP reply.

Engine-neutral (TGI's checks in `checks.py`, vLLM's in `vllm_checks.py` use the same ones): a reader returns the
value asked for or raises `CheckFailed` saying what was expected and what came.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from orchestrator.smoke.http import HttpReply
from orchestrator.smoke.sse import SseFormatError, json_events

__all__ = ["CheckFailed", "CheckSkipped", "events", "field", "json_object", "snippet", "status"]


class CheckFailed(Exception):
    """The server broke the promise the check tests; the message says what was expected and what came."""


class CheckSkipped(Exception):
    """The check does not apply to this run (the message says why and how to enable it)."""


def status(reply: HttpReply, expected: int, what: str) -> None:
    if reply.status == expected:
        return
    hint = ""
    if reply.status == 401:
        hint = " (the server wants an API key: pass --api-key-env VAR or set ORCHESTRATOR_SECRETS__API_KEY)"
    raise CheckFailed(f"{what}: expected HTTP {expected}, got {reply.status}{hint}: {snippet(reply)}")


def snippet(reply: HttpReply, limit: int = 200) -> str:
    text = reply.text().strip()
    return (text[:limit] + "…") if len(text) > limit else (text or "(empty body)")


def json_object(reply: HttpReply, what: str) -> dict[str, Any]:
    try:
        value = reply.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckFailed(f"{what}: body is not JSON: {snippet(reply)}") from exc
    if not isinstance(value, dict):
        raise CheckFailed(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def field(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if key not in obj:
        raise CheckFailed(f"{what}: field {key!r} is missing (keys: {sorted(obj)})")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise CheckFailed(f"{what}: field {key!r} should be {kind_name(kind)}, got {value!r}")
    return value


def kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def events(reply: HttpReply, what: str) -> tuple[list[dict[str, Any]], bool]:
    """The JSON events of a stream and whether `[DONE]` ended it; an error event or no event fails."""
    try:
        found, done = json_events(reply.lines)
    except SseFormatError as exc:
        raise CheckFailed(f"{what}: {exc}") from exc
    for event in found:
        if "error" in event:
            raise CheckFailed(f"{what}: error event in stream: {json.dumps(event)[:200]}")
    if not found:
        raise CheckFailed(f"{what}: the stream carried no events")
    return found, done
