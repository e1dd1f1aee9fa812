"""Serving any front-end's ASGI app with uvicorn: arrival stamps, our own signal handling, a graceful drain.

uvicorn's signal capture is disabled (it would re-raise SIGTERM after shutdown and turn exit 0 into -15): the first
SIGTERM/SIGINT goes to a `Stopper`, which ends start-up early or asks the server to drain (in-flight requests get up
to the graceful timeout). uvicorn is an optional dependency, so it is imported only when a server is built.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn

__all__ = ["Stopper", "http_server", "stop_task", "wait_or_stop"]


class Stopper:
    """Signal bridge: the first SIGTERM/SIGINT sets `event`; once a server is serving, `on_drain` runs and the
    server is asked to exit (it drains first)."""

    def __init__(
        self, on_drain: Callable[[], None], settle: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.event = asyncio.Event()
        self.server: Any = None
        self.on_drain = on_drain
        self.settle = settle  # run before the server is asked to exit (vLLM stops its engine client first)
        self._settling: asyncio.Task[None] | None = None

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self)

    def serve_with(self, server: Any) -> None:
        """Hand signals to `server` from now on (and stop it at once if a signal came during start-up)."""
        self.server = server
        if self.event.is_set():
            server.should_exit = True

    def __call__(self) -> None:
        first = not self.event.is_set()
        if first and self.server is not None:
            self.on_drain()
        self.event.set()
        if self.server is None:
            return
        if self.settle is None:
            self.server.should_exit = True
        elif first:
            self._settling = asyncio.get_running_loop().create_task(self._settle_then_exit())

    async def _settle_then_exit(self) -> None:
        assert self.settle is not None
        try:
            await self.settle()
        finally:
            self.server.should_exit = True


async def wait_or_stop(seconds: float, stop: asyncio.Event) -> bool:
    """Wait `seconds` (a start-up phase) unless `stop` is set first; True if interrupted."""
    if seconds <= 0:
        return stop.is_set()
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
        return True
    except TimeoutError:
        return False


def http_server(
    app: Any,
    *,
    host: str,
    port: int,
    graceful_timeout: float,
    on_listening: Callable[[], None] | None = None,
) -> uvicorn.Server:
    """A uvicorn server for `app` with the arrival-stamping protocol and no signal capture of its own;
    `on_listening` runs once its sockets accept connections (vLLM logs `Application startup complete.` then)."""
    import uvicorn

    from orchestrator.emulator.core.arrival import ArrivalStampingProtocol

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=ArrivalStampingProtocol,
        ws="none",
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=True,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=int(graceful_timeout),
        backlog=4096,
    )

    class _QuietServer(uvicorn.Server):
        """uvicorn.Server without its signal capture (we own SIGTERM; see module docstring)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            yield

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if on_listening is not None and self.started:
                on_listening()

    return _QuietServer(config)


async def stop_task(task: asyncio.Task[None]) -> None:
    """Cancel a background task (the batching loop) and wait until it has ended."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
