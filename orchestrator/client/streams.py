"""Open SSE streams handed to callers: `TokenStream` / `ChatStream` (blocking); the source of `async_streams.py`.

Each wraps one open response: it yields the events the opening attempt already read, then decodes the rest with
the shared `StreamReader`, and gives the connection and the endpoint's in-flight slot back when it finishes,
breaks or is closed. Failures after the first token surface as `TGIStreamInterruptedError` (never retried).
`async_streams.py` is generated from this file (`python -m orchestrator.client._generate_async`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

import httpx2

from orchestrator.client.errors import TGIError
from orchestrator.client.open_stream import OpenStream
from orchestrator.client.protocol import ChatStreamView, TokenStreamView
from orchestrator.client.results import TokenEvent

__all__ = ["ChatStream", "TokenStream"]

T = TypeVar("T")


class _Stream(OpenStream[T, Iterator[bytes]]):
    """An open SSE stream; iterate it for events. Closing it (or leaving a `with` block) frees the connection."""

    def __iter__(self) -> Iterator[T]:
        try:
            pending, self._pending = self._pending, []
            yield from pending
            reader = self._reader
            try:
                for chunk in self._chunks:
                    yield from reader.feed(chunk)
            except httpx2.RequestError as exc:
                raise self._fail(reader.broken(exc)) from exc
            except TGIError as exc:
                raise self._fail(exc) from None
            try:
                yield from reader.end()
            except TGIError as exc:
                raise self._fail(exc) from None
        finally:
            self.close()

    def _fail(self, error: TGIError) -> TGIError:
        self._finish(self._stamp(error))
        return error

    def _finish(self, error: TGIError | None) -> None:
        if self._release(error):
            self._response.close()

    def close(self) -> None:
        """Stop reading and return the connection (safe to call twice)."""
        self._finish(None)

    def __enter__(self) -> _Stream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()


class TokenStream(_Stream[TokenEvent], TokenStreamView):
    """Token events of `/generate_stream`; after iteration `details`/`generated_text` hold the final event's."""


class ChatStream(_Stream[Any], ChatStreamView):
    """Chunks of a `/v1/chat/completions` stream, as huggingface_hub's `ChatCompletionStreamOutput`."""
