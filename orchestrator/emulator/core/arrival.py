"""Arrival stamps taken where a request's bytes are read, not where the application first sees it.

When many requests arrive together, the ASGI application runs each one only after the event loop has read and
parsed all of them and run the handlers that were ready first, so a clock started in the application starts
milliseconds late and every client measures time to first token too high. This uvicorn protocol notes
`time.perf_counter()` (CLOCK_MONOTONIC on Linux, comparable across processes) each time bytes are read and gives
the stamp of the read that began a request to that request's scope (`http.ARRIVAL_KEY`). Imported only by the
server, since uvicorn is an optional dependency.
"""

from __future__ import annotations

import time

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from orchestrator.emulator.core.http import ARRIVAL_KEY

__all__ = ["ArrivalStampingProtocol"]


class ArrivalStampingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the arrival stamp of each request in `scope["extensions"]`."""

    _read_at = 0.0

    def data_received(self, data: bytes) -> None:
        self._read_at = time.perf_counter()
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {ARRIVAL_KEY: {"perf_counter": self._read_at}}
