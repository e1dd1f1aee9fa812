"""TGI's wire protocol without I/O: request bodies, response parsing and stream state, shared by both shells.

The sync and async clients only move bytes; everything they send and every decision about what they received is
made here, once. Streams are tracked by `TokenStreamState` / `ChatStreamState`: until the first token has been
handed out an error is raised as itself (so the call can be retried); afterwards it becomes a
`TGIStreamInterruptedError` carrying the text and token count already delivered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from orchestrator.client.errors import TGIError, TGIStreamInterruptedError, TGIUnavailableError
from orchestrator.client.presets import SamplingPreset
from orchestrator.client.results import CallStats, GenerateResult, ServerTimings, TokenEvent
from orchestrator.client.translate import error_from_exception, error_from_sse
from orchestrator.formats.sse import DONE, SSEDecoder

__all__ = [
    "ChatStreamState",
    "ChatStreamView",
    "StreamReader",
    "TokenStreamState",
    "TokenStreamView",
    "build_chat_body",
    "build_generate_body",
    "chat_reader",
    "generated_text",
    "merge_parameters",
    "overlay",
    "parse_generate",
    "request_headers",
    "token_reader",
]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_loads = json.loads


def request_headers(api_key: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Headers for every request: JSON, and `Authorization: Bearer` only when an API key was given.

    Built explicitly so no ambient Hugging Face token is ever added (huggingface_hub would add `HF_TOKEN`).
    """
    headers = {"content-type": "application/json"}
    if extra:
        for key, value in extra.items():
            if key.lower() == "authorization":
                raise ValueError("pass the API key as api_key=..., not as an Authorization header")
            headers[key.lower()] = value
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return headers


def merge_parameters(
    preset: SamplingPreset | None, explicit: Mapping[str, Any], extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Preset fields, then `extra` (a raw `parameters` mapping), then explicit keyword arguments that are set."""
    return overlay(preset.parameters() if preset is not None else {}, explicit, extra)


def overlay(
    params: dict[str, Any], explicit: Mapping[str, Any], extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    """`params` updated with `extra`, then with the explicit keyword arguments that are set (not None)."""
    if extra:
        params.update(extra)
    for key, value in explicit.items():
        if value is not None:
            params[key] = value
    return params


def build_generate_body(prompt: str, parameters: dict[str, Any], *, details: bool) -> bytes:
    """Body for `/generate` and `/generate_stream` (`details` asks for finish reason, token counts, seed)."""
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
    if details:
        parameters = {**parameters, "details": True}
    return _dumps({"inputs": prompt, "parameters": parameters}).encode()


def build_chat_body(
    messages: Sequence[Mapping[str, Any]], parameters: dict[str, Any], *, stream: bool
) -> bytes:
    """Body for `/v1/chat/completions`; `model: "tgi"` so TGI does not treat it as a LoRA adapter id."""
    body: dict[str, Any] = {"model": "tgi", "messages": [dict(m) for m in messages], **parameters}
    if stream:
        body["stream"] = True
    return _dumps(body).encode()


def parse_generate(
    body: bytes, headers: Mapping[str, str], stats: CallStats, endpoint: str
) -> GenerateResult:
    """A `/generate` response (a dict; `/` returns a one-element list, accepted too)."""
    data = _loads(body)
    if isinstance(data, list):
        data = data[0]
    return GenerateResult(
        text=data["generated_text"],
        details=data.get("details"),
        timings=ServerTimings.from_headers(headers),
        stats=stats,
        endpoint=endpoint,
    )


def generated_text(body: bytes) -> str:
    """Just the text of a `/generate` response: the fast path of `generate()`."""
    data = _loads(body)
    if isinstance(data, list):
        data = data[0]
    return str(data["generated_text"])


class _StreamProgress:
    """What a stream has delivered so far (text parts, token count), shared by the token and chat states.

    Until the first token has been handed out an error is raised as itself (so the call can be retried);
    afterwards `interrupted` turns it into a `TGIStreamInterruptedError` with the partial text.
    """

    __slots__ = ("endpoint", "parts", "stats", "tokens")
    _broke = "stream broke after {} token(s)"

    def __init__(self, endpoint: str, stats: CallStats) -> None:
        self.endpoint = endpoint
        self.stats = stats
        self.parts: list[str] = []
        self.tokens = 0

    @property
    def started(self) -> bool:
        return self.tokens > 0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def interrupted(self, cause: TGIError) -> TGIError:
        """`cause` itself before the first token (retryable), a stream-interrupted error after it."""
        if not self.started:
            return cause
        return TGIStreamInterruptedError(
            f"{self._broke.format(self.tokens)}: {cause.message}",
            partial_text=self.text,
            tokens_received=self.tokens,
            status=cause.status,
            error_type=cause.error_type,
            server_message=cause.server_message,
            endpoint=self.endpoint,
            attempts=self.stats.attempts,
        )


class TokenStreamState(_StreamProgress):
    """What a `/generate_stream` has delivered so far, and what each new SSE payload means."""

    __slots__ = ("final",)

    def __init__(self, endpoint: str, stats: CallStats) -> None:
        super().__init__(endpoint, stats)
        self.final: TokenEvent | None = None

    def event(self, payload: bytes) -> TokenEvent | None:
        """Interpret one SSE payload; raises the translated error for an error event."""
        if payload == DONE:
            return None
        data = _loads(payload)
        if "error" in data:
            raise self.interrupted(error_from_sse(data, self.endpoint))
        token = data["token"]
        event = TokenEvent(
            data.get("index", self.tokens + 1),
            token["id"],
            token["text"],
            token.get("logprob"),
            token.get("special", False),
            data.get("generated_text"),
            data.get("details"),
            data.get("top_tokens"),
        )
        if not event.special:
            self.parts.append(event.text)
        self.tokens += 1
        if event.generated_text is not None:
            self.final = event
        return event

    @property
    def complete(self) -> bool:
        return self.final is not None

    def ended(self) -> TGIError | None:
        """Called at end of body: an error when the final event never came."""
        if self.complete:
            return None
        return self.interrupted(
            TGIUnavailableError(
                "the stream ended before its final event",
                error_type="incomplete_stream",
                endpoint=self.endpoint,
            )
        )


class ChatStreamState(_StreamProgress):
    """The same bookkeeping for `/v1/chat/completions` streams (chunks, then `[DONE]`)."""

    __slots__ = ("done", "finish_reason")
    _broke = "chat stream broke after {} chunk(s)"

    def __init__(self, endpoint: str, stats: CallStats) -> None:
        super().__init__(endpoint, stats)
        self.done = False
        self.finish_reason: str | None = None

    def chunk(self, payload: bytes) -> dict[str, Any] | None:
        """One parsed chunk dict, or None for `[DONE]`; raises the translated error for an error event."""
        if payload == DONE:
            self.done = True
            return None
        data: dict[str, Any] = _loads(payload)
        if "error" in data:
            raise self.interrupted(error_from_sse(data, self.endpoint))
        for choice in data.get("choices") or ():
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                self.parts.append(content)
                self.tokens += 1
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return data

    def ended(self) -> TGIError | None:
        if self.done or self.finish_reason is not None:
            return None
        return self.interrupted(
            TGIError(
                "the chat stream ended before [DONE]", error_type="incomplete_stream", endpoint=self.endpoint
            )
        )


T = TypeVar("T")


class StreamState(Protocol):
    """What `StreamReader` needs from a stream's bookkeeping."""

    endpoint: str

    @property
    def started(self) -> bool: ...

    def interrupted(self, cause: TGIError) -> TGIError: ...

    def ended(self) -> TGIError | None: ...


class StreamReader(Generic[T]):
    """Raw body chunks in, caller-facing events out; every stream failure becomes the right `TGIError`.

    `convert` turns one SSE payload into an event (or None to skip it) and raises for error events.
    """

    __slots__ = ("_convert", "_decoder", "state")

    def __init__(self, state: StreamState, convert: Any) -> None:
        self.state = state
        self._convert = convert
        self._decoder = SSEDecoder()

    def feed(self, chunk: bytes) -> list[T]:
        convert = self._convert
        out: list[T] = []
        for payload in self._decoder.feed(chunk):
            event = convert(payload)
            if event is not None:
                out.append(event)
        return out

    def end(self) -> list[T]:
        """Flush the decoder at end of body; raises when the stream stopped before its final event."""
        out: list[T] = []
        for payload in self._decoder.close():
            event = self._convert(payload)
            if event is not None:
                out.append(event)
        error = self.state.ended()
        if error is not None:
            raise error
        return out

    def broken(self, exc: BaseException) -> TGIError:
        """A transport failure while reading: retryable before the first token, interrupted after."""
        cause = error_from_exception(exc, self.state.endpoint, first_byte=self.state.started)
        return self.state.interrupted(cause)


def token_reader(endpoint: str, stats: CallStats) -> StreamReader[TokenEvent]:
    """A reader for one `/generate_stream` attempt (`TokenEvent`s)."""
    state = TokenStreamState(endpoint, stats)
    return StreamReader(state, state.event)


def chat_reader(parse: Callable[[dict[str, Any]], T]) -> Callable[[str, CallStats], StreamReader[T]]:
    """A factory of readers for `/v1/chat/completions` streams; `parse` turns each chunk dict into an event."""

    def make(endpoint: str, stats: CallStats) -> StreamReader[T]:
        state = ChatStreamState(endpoint, stats)

        def convert(payload: bytes) -> T | None:
            chunk = state.chunk(payload)
            return None if chunk is None else parse(chunk)

        return StreamReader(state, convert)

    return make


class TokenStreamView:
    """Read-only views on a token stream's progress, shared by the sync and async stream classes."""

    _reader: StreamReader[Any]

    @property
    def _token_state(self) -> TokenStreamState:
        state = self._reader.state
        assert isinstance(state, TokenStreamState)
        return state

    @property
    def text(self) -> str:
        """Text of the tokens delivered so far (special tokens excluded)."""
        return self._token_state.text

    @property
    def tokens_received(self) -> int:
        return self._token_state.tokens

    @property
    def final(self) -> TokenEvent | None:
        """The last event (with `generated_text` and `details`), once it has arrived."""
        return self._token_state.final

    @property
    def generated_text(self) -> str | None:
        final = self._token_state.final
        return None if final is None else final.generated_text

    @property
    def details(self) -> dict[str, Any] | None:
        final = self._token_state.final
        return None if final is None else final.details


class ChatStreamView:
    """Read-only views on a chat stream's progress."""

    _reader: StreamReader[Any]

    @property
    def text(self) -> str:
        """Content delivered so far."""
        state = self._reader.state
        assert isinstance(state, ChatStreamState)
        return state.text

    @property
    def finish_reason(self) -> str | None:
        state = self._reader.state
        assert isinstance(state, ChatStreamState)
        return state.finish_reason
