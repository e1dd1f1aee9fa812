"""Arrival stamps taken where a request's bytes are read, not where the application first sees it.

When many requests arrive together, the ASGI application runs each one only after the event loop has read and
parsed all of them and run the handlers that were ready first, so a clock started in the application starts
milliseconds late and every client measures time to first token too high. This uvicorn protocol notes
`time.perf_counter()` (CLOCK_MONOTONIC on Linux, comparable across processes) each time bytes are read, or the
earlier moment `arrival_watch` saw them waiting, and gives the stamp of the read that began a request to that
request's scope (`http.ARRIVAL_KEY`). Imported only by the server, since uvicorn is an optional dependency.
"""

from __future__ import annotations

import asyncio
import time

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from orchestrator.emulator.core import arrival_watch
from orchestrator.emulator.core.http import ARRIVAL_KEY

__all__ = ["ArrivalStampingProtocol"]


class ArrivalStampingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the arrival stamp of each request in `scope["extensions"]`."""

    _read_at = 0.0
    _fd = -1

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self._fd = sock.fileno()
            arrival_watch.watch(self._fd, self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._fd >= 0:
            arrival_watch.forget(self._fd, self)
            self._fd = -1
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()  # these bytes are here already: they arrived before now
        arrival_watch.sweep()  # first: this read's own edge is consumed, not kept for the next request
        noted = arrival_watch.take(self._fd)
        self._read_at = now if noted is None else min(noted, now)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {ARRIVAL_KEY: {"perf_counter": self._read_at}}
