"""Server-sent events as TGI writes them, parsed once and without I/O: the client, smoke checks and load users use it.

TGI frames each event as one `data: {json}` line and a blank line (`data:{json}` without the space up to v2.0),
sends `:` keep-alive comments and ends OpenAI-style chat streams with `data: [DONE]` (`/generate_stream` has no
sentinel: its last event carries `generated_text`); an error inside a 200 stream is a `data: {"error": ...}` event.

Two entry points over one line grammar (`data_value`):
* `data_value(line)` for callers that already read line by line (the smoke checks' lines, the load users' lines
  timed on arrival): each `data:` line is one payload.
* `SSEDecoder` for raw body chunks (the client): lines are joined into events as the SSE standard says (several
  `data:` lines joined with `\\n`, an event ends at a blank line), with no text decoding or per-event objects, so
  JSON parsing of the payload is the only per-event cost.
"""

from __future__ import annotations

__all__ = ["DATA", "DONE", "SSEDecoder", "data_value"]

DATA = b"data:"
"""The field every payload comes in; `event:`, `id:` and `retry:` carry nothing TGI uses."""
DONE = b"[DONE]"
"""The payload that ends an OpenAI-style chat stream."""


def data_value(line: bytes) -> bytes | None:
    """The value of a `data:` line, without its line end and with at most one leading space removed.

    None for any other line: blank lines, `:` comments and the other fields.
    """
    if line[:5] != DATA:
        return None
    value = line[6:] if line[5:6] == b" " else line[5:]
    return value.rstrip(b"\r\n")


class SSEDecoder:
    """Incremental decoder: `feed(chunk)` returns the payloads of the events completed by that chunk."""

    __slots__ = ("_buffer", "_data")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: bytes | None = None

    def feed(self, chunk: bytes) -> list[bytes]:
        buffer = self._buffer + chunk if self._buffer else chunk
        lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        events: list[bytes] = []
        for line in lines:
            self._line(line, events)
        return events

    def close(self) -> list[bytes]:
        """Flush at end of body: a last event without its blank line still counts."""
        events: list[bytes] = []
        if self._buffer:
            self._line(self._buffer, events)
            self._buffer = b""
        if self._data is not None:
            events.append(self._data)
            self._data = None
        return events

    def _line(self, line: bytes, events: list[bytes]) -> None:
        if not line or line == b"\r":  # a blank line ends the event
            if self._data is not None:
                events.append(self._data)
                self._data = None
            return
        value = data_value(line)
        if value is not None:
            self._data = value if self._data is None else self._data + b"\n" + value
