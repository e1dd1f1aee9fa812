"""The client's methods over vLLM's OpenAI-compatible routes, without I/O [vllm-server.md §5].

`generate`/`stream` keep TGI's parameters and results: the parameters become a `/v1/completions` body
(`max_new_tokens` -> `max_tokens`, `do_sample=False` -> `temperature: 0`, the rest by their vLLM names), and the
answers become the same `GenerateResult` and `TokenEvent`s, with TGI's `details` (`finish_reason` in TGI's words,
`generated_tokens` from the server's usage). Streams ask for `stream_options.include_usage`, so the final event
carries the server's token counts: the chunk with `finish_reason` is held until the usage chunk (or `[DONE]`)
arrives and then handed out as the final event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.client.protocol import StreamReader, TokenStreamState
from orchestrator.client.results import CallStats, GenerateResult, ServerTimings, TokenEvent
from orchestrator.client.translate import error_from_sse
from orchestrator.formats.sse import DONE

__all__ = [
    "CompletionStreamState",
    "completion_body",
    "completion_reader",
    "completion_result",
    "completion_text",
    "openai_chat_body",
    "tgi_finish_reason",
]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_loads = json.loads
_USAGE = {"include_usage": True}
_RENAMED = {"max_new_tokens": "max_tokens", "truncate": "truncate_prompt_tokens", "return_full_text": "echo"}
_TGI_ONLY = frozenset({"details", "decoder_input_details", "do_sample", "top_n_tokens", "watermark"})


def completion_body(
    prompt: str, parameters: Mapping[str, Any], *, stream: bool, max_context: int | None
) -> bytes:
    """A `/v1/completions` body for TGI-style `parameters`; without `max_new_tokens`, `max_context` (vLLM's
    `max_model_len`, when known) asks for as much as fits, as TGI does (vLLM 0.33 clamps it to what is left)."""
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
    body: dict[str, Any] = {"prompt": prompt}
    for key, value in parameters.items():
        if key not in _TGI_ONLY:
            body[_RENAMED.get(key, key)] = value
    if parameters.get("do_sample") is False:
        body["temperature"] = 0
    if "max_tokens" not in body and max_context:
        body["max_tokens"] = max_context
    if stream:
        body["stream"] = True
        body["stream_options"] = _USAGE
    return _dumps(body).encode()


def openai_chat_body(
    messages: Sequence[Mapping[str, Any]], parameters: dict[str, Any], *, stream: bool
) -> bytes:
    """A `/v1/chat/completions` body for vLLM: no `model` (it then uses the served one), usage when streaming."""
    body: dict[str, Any] = {"messages": [dict(m) for m in messages], **parameters}
    if stream:
        body["stream"] = True
        body.setdefault("stream_options", _USAGE)
    return _dumps(body).encode()


def tgi_finish_reason(reason: str | None, stop_reason: Any) -> str | None:
    """vLLM's `finish_reason` in TGI's words: `stop` is `eos_token`, or `stop_sequence` when a stop string or
    token matched (`stop_reason` set); `length` stays; others (`abort`, `tool_calls`) pass through."""
    if reason == "stop":
        return "eos_token" if stop_reason is None else "stop_sequence"
    return reason


def _details(choice: Mapping[str, Any], usage: Mapping[str, Any] | None, tokens: int) -> dict[str, Any]:
    reason = choice.get("finish_reason")
    usage = usage or {}
    generated = usage.get("completion_tokens")
    return {
        "finish_reason": tgi_finish_reason(reason, choice.get("stop_reason")),
        "generated_tokens": generated if isinstance(generated, int) else tokens,
        "input_length": usage.get("prompt_tokens"),
        "seed": None,
        "engine_finish_reason": reason,
    }


def completion_text(body: bytes) -> str:
    """Just the text of a `/v1/completions` answer: the fast path of `generate()`."""
    return str(_loads(body)["choices"][0]["text"])


def completion_result(
    body: bytes, headers: Mapping[str, str], stats: CallStats, endpoint: str
) -> GenerateResult:
    """A `/v1/completions` answer as `GenerateResult`, with TGI-style details from its choice and usage."""
    data = _loads(body)
    choice = data["choices"][0]
    return GenerateResult(
        text=choice["text"],
        details=_details(choice, data.get("usage"), 0),
        timings=ServerTimings.from_headers(headers),
        stats=stats,
        endpoint=endpoint,
    )


def completion_reader(endpoint: str, stats: CallStats) -> StreamReader[TokenEvent]:
    """A reader for one streamed `/v1/completions` attempt (`TokenEvent`s, the last one final)."""
    state = CompletionStreamState(endpoint, stats)
    return StreamReader(state, state.event)


class CompletionStreamState(TokenStreamState):
    """What a streamed `/v1/completions` has delivered: one `TokenEvent` per chunk with text; the chunk with
    `finish_reason` waits for the usage chunk so the final event has the server's counts."""

    __slots__ = ("_held",)

    def __init__(self, endpoint: str, stats: CallStats) -> None:
        super().__init__(endpoint, stats)
        self._held: dict[str, Any] | None = None

    def event(self, payload: bytes) -> TokenEvent | None:
        if payload == DONE:
            return self._release(None)
        data = _loads(payload)
        if "error" in data:
            raise self.interrupted(error_from_sse(data, self.endpoint))
        choices = data.get("choices")
        if not choices:
            usage = data.get("usage")
            return self._release(usage) if usage else None
        choice = choices[0]
        if choice.get("finish_reason") is not None:
            self._held = choice
            return None
        return self._token(choice, None, None)

    def _token(
        self, choice: Mapping[str, Any], text: str | None, details: dict[str, Any] | None
    ) -> TokenEvent:
        ids = choice.get("token_ids")
        piece = choice.get("text") or ""
        self.parts.append(piece)
        self.tokens += 1
        event = TokenEvent(
            self.tokens,
            ids[-1] if isinstance(ids, list) and ids else -1,
            piece,
            None,
            False,
            None if details is None else self.text,
            details,
        )
        if details is not None:
            self.final = event
        return event

    def _release(self, usage: Mapping[str, Any] | None) -> TokenEvent | None:
        """The held final chunk as the final event (once), with the usage counts when they came."""
        held, self._held = self._held, None
        if held is None or self.final is not None:
            return None
        return self._token(held, None, _details(held, usage, self.tokens + 1))
