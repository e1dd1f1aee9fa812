# GENERATED FILE, DO NOT EDIT. Written from streams.py by `python -m orchestrator.client._generate_async`.
"""`AsyncTokenStream` / `AsyncChatStream`: the open streams `AsyncTGIClient` hands to callers.

Generated from the blocking `streams.py`, where this code is written once: edit that file, then run
`python -m orchestrator.client._generate_async`. tests/client/test_generated_async.py fails on any drift.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx2

from orchestrator.client.errors import TGIError
from orchestrator.client.open_stream import OpenStream
from orchestrator.client.protocol import ChatStreamView, TokenStreamView
from orchestrator.client.results import TokenEvent

__all__ = ["AsyncChatStream", "AsyncTokenStream"]

T = TypeVar("T")


class _AsyncStream(OpenStream[T, AsyncIterator[bytes]]):
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
                for event in reader.end():
                    yield event
            except TGIError as exc:
                raise await self._fail(exc) from None
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
