"""Open SSE streams handed to callers: `TokenStream` / `ChatStream` (blocking) and their asyncio twins.

Each wraps one open response: it yields the events the opening attempt already read, then decodes the rest with
the shared `StreamReader`, and gives the connection and the endpoint's in-flight slot back when it finishes,
breaks or is closed. Failures after the first token surface as `TGIStreamInterruptedError` (never retried).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Generic, TypeVar

import httpx2

from orchestrator.client.endpoints import Endpoint, EndpointPool
from orchestrator.client.errors import TGIError
from orchestrator.client.protocol import ChatStreamView, StreamReader, TokenStreamView
from orchestrator.client.results import CallStats, TokenEvent

__all__ = ["AsyncChatStream", "AsyncTokenStream", "ChatStream", "TokenStream"]

T = TypeVar("T")
C = TypeVar("C")


class _OpenStream(Generic[T, C]):
    """What both stream classes hold: the open response, its chunk iterator (`C`: sync or async), the reader,
    the events the opening attempt already read, and the replica's in-flight slot until the stream finishes."""

    def __init__(
        self,
        pool: EndpointPool,
        endpoint: Endpoint,
        response: httpx2.Response,
        chunks: C,
        reader: StreamReader[T],
        pending: list[T],
        stats: CallStats,
    ) -> None:
        self._pool = pool
        self._endpoint = endpoint
        self._response = response
        self._chunks = chunks
        self._reader = reader
        self._pending = pending
        self._closed = False
        self.stats = stats
        self.endpoint = endpoint.url

    def _stamp(self, error: TGIError) -> TGIError:
        """Give a failure that ends the stream the call's statistics."""
        error.attempts = self.stats.attempts
        error.stats = self.stats
        return error

    def _release(self, error: TGIError | None) -> bool:
        """Give the replica's slot back, once; False when the stream was already finished."""
        if self._closed:
            return False
        self._closed = True
        self._pool.release(self._endpoint, error)
        return True


class _Stream(_OpenStream[T, Iterator[bytes]]):
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


class _AsyncStream(_OpenStream[T, AsyncIterator[bytes]]):
    """An open SSE stream; `async for` it. `aclose()` (or leaving `async with`) frees the connection."""

    async def __aiter__(self) -> AsyncIterator[T]:
        try:
            pending, self._pending = self._pending, []
            for event in pending:
                yield event
            reader = self._reader
            try:
                async for chunk in self._chunks:
                    for event in reader.feed(chunk):
                        yield event
            except httpx2.RequestError as exc:
                raise await self._fail(reader.broken(exc)) from exc
            except TGIError as exc:
                raise await self._fail(exc) from None
            try:
                tail = reader.end()
            except TGIError as exc:
                raise await self._fail(exc) from None
            for event in tail:
                yield event
        finally:
            await self.aclose()

    async def _fail(self, error: TGIError) -> TGIError:
        await self._finish(self._stamp(error))
        return error

    async def _finish(self, error: TGIError | None) -> None:
        if self._release(error):
            await self._response.aclose()

    async def aclose(self) -> None:
        """Stop reading and return the connection (safe to call twice)."""
        await self._finish(None)

    async def __aenter__(self) -> _AsyncStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncTokenStream(_AsyncStream[TokenEvent], TokenStreamView):
    """Token events of `/generate_stream`; after iteration `details`/`generated_text` hold the final event's."""


class AsyncChatStream(_AsyncStream[Any], ChatStreamView):
    """Chunks of a `/v1/chat/completions` stream, as huggingface_hub's `ChatCompletionStreamOutput`."""
