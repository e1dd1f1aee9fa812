"""Pure helpers that turn a server-sent-event body into the JSON payloads of its `data:` lines.

TGI 3.x writes `data: {json}`; up to v2.0 it wrote `data:{json}` (no space). Both are accepted. Comment lines
(keep-alives, `:`) and blank separators are dropped. No I/O: the smoke checks feed it lines already read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["DONE", "SseFormatError", "data_payloads", "json_events"]

DONE = "[DONE]"


class SseFormatError(ValueError):
    """A `data:` line whose payload is not JSON (and not `[DONE]`), or a line that is no SSE field at all."""


def data_payloads(lines: Iterable[str]) -> list[str]:
    """The text after `data:` on each data line, in order, with at most one leading space removed."""
    payloads: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r")
        if not line or line.startswith(":"):
            continue
        field, sep, value = line.partition(":")
        if not sep:
            raise SseFormatError(f"not an SSE field line: {line[:80]!r}")
        if field != "data":
            continue  # event:/id:/retry: carry nothing the checks need
        payloads.append(value[1:] if value.startswith(" ") else value)
    return payloads


def json_events(lines: Iterable[str]) -> tuple[list[dict[str, Any]], bool]:
    """(decoded JSON objects, whether a `[DONE]` sentinel ended the stream)."""
    events: list[dict[str, Any]] = []
    done = False
    for payload in data_payloads(lines):
        if payload.strip() == DONE:
            done = True
            continue
        if done:
            raise SseFormatError(f"data after [DONE]: {payload[:80]!r}")
        try:
            value = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise SseFormatError(f"data line is not JSON: {payload[:80]!r}") from exc
        if not isinstance(value, dict):
            raise SseFormatError(f"data line is not a JSON object: {payload[:80]!r}")
        events.append(value)
    return events, done
