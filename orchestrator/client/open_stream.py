"""`OpenStream`: the state both kinds of open stream hold (the I/O-free half of `streams.py`).

The blocking `streams.py` and the generated `async_streams.py` subclass it; only reading and closing differ.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import httpx2

from orchestrator.client.endpoints import Endpoint, EndpointPool
from orchestrator.client.errors import TGIError
from orchestrator.client.protocol import StreamReader
from orchestrator.client.results import CallStats

__all__ = ["OpenStream"]

T = TypeVar("T")
C = TypeVar("C")


class OpenStream(Generic[T, C]):
    """The open response, its chunk iterator (`C`: sync or async), the reader, the events the opening attempt
    already read, and the replica's in-flight slot until the stream finishes."""

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
