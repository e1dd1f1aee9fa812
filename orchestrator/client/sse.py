"""Server-sent events, parsed without I/O: bytes in, `data` payloads out.

TGI frames each event as one `data: {json}` line and a blank line (`data:{json}` without the space up to v2.0),
sends `:` keep-alive comments and ends chat streams with `data: [DONE]`. The decoder accepts both spellings, `\\r\\n`
line ends, comments and multi-line data (joined with `\\n`), and is fed raw chunks so no text decoding or line
objects are created per event: JSON parsing of the payload is the only per-event cost.
"""

from __future__ import annotations

__all__ = ["DONE", "SSEDecoder"]

DONE = b"[DONE]"


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
        if line[-1:] == b"\r":
            line = line[:-1]
        if not line:
            if self._data is not None:
                events.append(self._data)
                self._data = None
            return
        if line[:5] == b"data:":
            value = line[6:] if line[5:6] == b" " else line[5:]
            self._data = value if self._data is None else self._data + b"\n" + value
        # Comments (":"), "event:", "id:" and "retry:" lines carry nothing TGI uses.
