"""The smoke checks' strict reading of an event stream: `formats.sse` parses each line, this rejects what TGI
would never send (a line that is no SSE field, a payload that is not a JSON object, data after `[DONE]`).

No I/O: the checks feed it lines already read (text, line ends removed). Each `data:` line is one payload.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from orchestrator.formats import sse

__all__ = ["DONE", "SseFormatError", "data_payloads", "json_events"]

DONE = sse.DONE.decode()


class SseFormatError(ValueError):
    """A `data:` line whose payload is not JSON (and not `[DONE]`), or a line that is no SSE field at all."""


def data_payloads(lines: Iterable[str]) -> list[str]:
    """The text after `data:` on each data line, in order, with at most one leading space removed."""
    payloads: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r")
        if not line or line.startswith(":"):
            continue
        value = sse.data_value(line.encode("utf-8", "surrogatepass"))
        if value is not None:
            payloads.append(value.decode("utf-8", "surrogatepass"))
        elif ":" not in line:
            raise SseFormatError(f"not an SSE field line: {line[:80]!r}")
        # other fields (event:/id:/retry:) carry nothing the checks need
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
