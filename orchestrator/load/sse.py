"""I/O-free readers for TGI's and vLLM's server-sent events: feed one line and its arrival time, read the timings.

The Locust users read the socket line by line (`wire.stamped_lines`) and hand every line to one of these readers
with the `time.perf_counter()` time its bytes arrived. Nothing here blocks or buffers, so a small
event is timed when it arrives, not when 1 KiB has piled up (the fault of `FastHttpUser.iter_lines`).

Each line is read by `formats.sse.data_value` (both spellings of the field: `data:{json}` up to TGI 2.0,
`data: {json}` since 2.1); what is the load users' own is the timing on arrival and the deferred JSON parsing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from orchestrator.formats.sse import DATA, DONE, data_value

__all__ = [
    "ChatStreamReader",
    "CompletionStreamReader",
    "GenerateStreamReader",
    "StreamState",
    "parse_error_body",
]

_FIELD_LENGTH = len(DATA)


@dataclass(slots=True)
class StreamState:
    """What a stream told us so far. Times are whatever clock the caller passes (perf_counter seconds)."""

    first_token: float | None = None
    last_token: float | None = None
    token_events: int = 0
    output_tokens: int | None = None
    input_tokens: int | None = None
    finish_reason: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    done: bool = False
    text: list[str] = field(default_factory=list)


def _payload(line: bytes) -> bytes:
    """The data of a `data:` line (surrounding blanks dropped too); b"" for blank lines, comments and other fields."""
    return (data_value(line) or b"").strip()


def parse_error_body(body: bytes) -> tuple[str | None, str]:
    """`(error_type, message)` from a TGI or vLLM error body; framework errors are plain text (type None)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, body.decode("utf-8", "replace").strip()[:300]
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):  # OpenAI-style {"error": {"message", "http_status_code"}}; vLLM adds "type"
            kind = err.get("type")
            return (kind if isinstance(kind, str) else "stream_error"), str(err.get("message", ""))
        if err is None and isinstance(data.get("detail"), str):  # FastAPI's own (vLLM: an unknown route)
            return None, data["detail"]
        return (str(data["error_type"]) if "error_type" in data else None), str(err)
    return None, str(data)[:300]


class _Reader:
    """Shared fast path: a plain token event is timed and counted on arrival and parsed a little later.

    JSON-parsing an event costs ~2.5 µs, more than everything else done on arrival. In a burst (a decode step
    sends a token to every stream at once) each parse delays the timestamps of all the streams read after it,
    so token events go to `pending` and are parsed by `digest` (the Locust users call it when the process is
    idle, and at the end of each stream). Every event is still parsed; a malformed one fails the request.
    Other events (final, error, usage, `[DONE]`) are parsed at once.
    """

    __slots__ = ("_sink", "keep_text", "parsed", "pending", "state")

    def __init__(self, *, keep_text: bool = False, sink: Any = None) -> None:
        self.state = StreamState()
        self.keep_text = keep_text
        self.pending: list[bytes] = []
        self.parsed = 0
        self._sink = sink

    def _token_arrived(self, line: bytes, now: float) -> None:
        st = self.state
        if st.first_token is None:
            st.first_token = now
        st.last_token = now
        st.token_events += 1
        self.pending.append(line)
        if self._sink is not None:
            self._sink.append(self)

    def digest(self, limit: int | None = None) -> int:
        """Parse up to `limit` pending token events (all when None); returns how many were parsed."""
        end = len(self.pending) if limit is None else min(len(self.pending), self.parsed + limit)
        count = end - self.parsed
        pending = self.pending
        for index in range(self.parsed, end):
            try:
                # A pending line passed the fast path, so it is a `data:` line with a JSON value; JSON ignores the
                # optional space and the line end that `data_value` would cut, so the bytes after the field do.
                self._parse_token(json.loads(pending[index][_FIELD_LENGTH:]))
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                st = self.state
                st.error_type = st.error_type or "malformed_event"
                st.error_message = st.error_message or f"unparsable event: {exc}"
        self.parsed = end
        return count

    def _parse_token(self, event: Any) -> None:
        raise NotImplementedError


_GENERATE_TOKEN = b'"generated_text":null'


class GenerateStreamReader(_Reader):
    """`/generate_stream`: token events, then a final event with `generated_text` and `details`."""

    __slots__ = ()

    def feed(self, line: bytes, now: float) -> bool:
        """Take one line and its arrival time; True once the stream is finished (final event or error)."""
        if not line.startswith(DATA):
            return False
        if _GENERATE_TOKEN in line and b'"token":{' in line:
            self._token_arrived(line, now)
            return False
        data = _payload(line)
        if not data:
            return False
        event: dict[str, Any] = json.loads(data)
        st = self.state
        if "error" in event:
            self.digest()
            st.error_type = str(event.get("error_type") or "stream_error")
            st.error_message = str(event["error"])
            st.done = True
            return True
        self.digest()
        token = event.get("token")
        if token is not None:
            self._token_arrived_parsed(token, now)
        details = event.get("details")
        if details:
            st.finish_reason = details.get("finish_reason")
            st.output_tokens = details.get("generated_tokens")
            st.input_tokens = details.get("input_length")
        if event.get("generated_text") is not None:
            st.done = True
            return True
        return False

    def _token_arrived_parsed(self, token: dict[str, Any], now: float) -> None:
        st = self.state
        if st.first_token is None:
            st.first_token = now
        st.last_token = now
        st.token_events += 1
        if self.keep_text and not token.get("special"):
            st.text.append(token.get("text", ""))

    def _parse_token(self, event: Any) -> None:
        token = event["token"]
        if self.keep_text and not token.get("special"):
            self.state.text.append(token.get("text", ""))


_CHAT_TOKEN = b'"choices":[{'


class ChatStreamReader(_Reader):
    """`/v1/chat/completions` with `stream: true`: one chunk per token, an optional usage chunk, `[DONE]`."""

    __slots__ = ()

    def feed(self, line: bytes, now: float) -> bool:
        if not line.startswith(DATA):
            return False
        if _CHAT_TOKEN in line and b'"error"' not in line:
            self._token_arrived(line, now)
            return False
        data = _payload(line)
        if not data:
            return False
        st = self.state
        if data == DONE:
            self.digest()
            st.done = True
            return True
        chunk: dict[str, Any] = json.loads(data)
        if "error" in chunk:
            err = chunk["error"]
            st.error_type = (
                "stream_error" if isinstance(err, dict) else str(chunk.get("error_type") or "stream_error")
            )
            st.error_message = str(err.get("message")) if isinstance(err, dict) else str(err)
            return False  # TGI sends [DONE] after an in-stream chat error
        if chunk.get("choices"):  # a token chunk spelled unlike the fast path expects
            self._token_arrived(line, now)
        usage = chunk.get("usage")
        if usage:
            st.output_tokens = usage.get("completion_tokens")
            st.input_tokens = usage.get("prompt_tokens")
        return False

    def _parse_token(self, event: Any) -> None:
        choice = event["choices"][0]
        if self.keep_text:
            content = (choice.get("delta") or {}).get("content")
            if content:
                self.state.text.append(content)
        reason = choice.get("finish_reason")
        if reason:
            self.state.finish_reason = reason


class CompletionStreamReader(ChatStreamReader):
    """vLLM's `/v1/completions` with `stream: true`: one chunk per token (`choices[0].text`), the usage chunk
    (`choices: []`, the server's counts), `[DONE]`; the same fast path as chat chunks."""

    __slots__ = ()

    def _parse_token(self, event: Any) -> None:
        choice = event["choices"][0]
        if self.keep_text:
            text = choice.get("text")
            if text:
                self.state.text.append(text)
        reason = choice.get("finish_reason")
        if reason:
            self.state.finish_reason = reason
