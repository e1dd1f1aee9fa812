"""`ChatCall`: one prepared chat call, what `chat` and `chat_stream` send (no I/O), for both shells.

On TGI a non-streamed `chat` goes through huggingface_hub's `chat_completion` (its keyword arguments, and the rest
of the fields in `extra_body`: `split_chat_arguments`); otherwise the call is a raw body, whose answer `parse`
(whole) or `make` (a stream reader) turns into huggingface_hub's dataclasses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.client.protocol import StreamReader, chat_reader
from orchestrator.client.results import CallStats

__all__ = ["ChatCall", "split_chat_arguments"]

# Keyword arguments `InferenceClient.chat_completion` takes itself; any other chat field goes in `extra_body`.
_CHAT_KWARGS = frozenset(
    {"frequency_penalty", "logprobs", "max_tokens", "presence_penalty", "response_format", "seed", "stop",
     "temperature", "tool_choice", "tool_prompt", "tools", "top_logprobs", "top_p", "stream_options"}
)  # fmt: skip


def split_chat_arguments(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keyword arguments of `chat_completion`, TGI extras such as `top_k` for its `extra_body`)."""
    known = {k: v for k, v in params.items() if k in _CHAT_KWARGS}
    extra = {k: v for k, v in params.items() if k not in _CHAT_KWARGS}
    return known, extra


class ChatCall:
    """A prepared chat call: for `chat` on TGI, the arguments of huggingface_hub's `chat_completion` (see `send`);
    else the raw body, with `make` (the reader factory parsing stream chunks into huggingface_hub's dataclasses)
    and `parse` (a whole answer into its `ChatCompletionOutput`)."""

    __slots__ = ("body", "extra", "known", "make", "messages")

    def __init__(
        self,
        *,
        body: bytes = b"",
        messages: list[dict[str, Any]] | None = None,
        known: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        from huggingface_hub import ChatCompletionStreamOutput

        self.body = body
        self.messages = messages or []
        self.known = known or {}
        self.extra = extra or None
        self.make: Callable[[str, CallStats], StreamReader[ChatCompletionStreamOutput]] = chat_reader(
            ChatCompletionStreamOutput.parse_obj_as_instance
        )

    @staticmethod
    def parse(body: bytes) -> Any:
        """A non-streamed `/v1/chat/completions` answer as huggingface_hub's `ChatCompletionOutput`."""
        import json

        from huggingface_hub import ChatCompletionOutput

        return ChatCompletionOutput.parse_obj_as_instance(json.loads(body))

    def send(self, client: Any) -> Any:
        """One `chat_completion` call on an (Async)InferenceClient: its result, or its coroutine."""
        return client.chat_completion(self.messages, model="tgi", extra_body=self.extra, **self.known)
