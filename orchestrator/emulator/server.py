"""Process lifecycle: parse flags, check them, start up, serve with uvicorn, drain on SIGTERM, exit like TGI.

Exit codes: 0 after a clean SIGTERM/SIGINT (in-flight requests drained up to `--graceful-termination-timeout`),
1 for `Error: ArgumentValidation(...)` and every emulated crash, 2 for a command-line usage error (as clap).
uvicorn's own signal capture is disabled (it would re-raise SIGTERM after shutdown and turn exit 0 into -15).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import sys
from collections.abc import Generator, Sequence

from orchestrator.emulator.config import ArgumentValidationError, EmulatorConfig, build_config
from orchestrator.emulator.flags import parse_or_exit
from orchestrator.emulator.logs import TgiLogger
from orchestrator.emulator.startup import StartupFailed, args_debug, run_startup

__all__ = ["main"]

_SERVER_RS = {"filename": "router/src/server.rs", "target": "text_generation_router::server"}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m orchestrator.emulator` and `orchestrator emulate`."""
    values = parse_or_exit(sys.argv[1:] if argv is None else argv)
    if isinstance(values, int):
        return values
    missing = [name for name in ("uvicorn", "uvloop", "httptools") if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"Error: the emulator's server stack is not installed ({', '.join(missing)} missing). "
            "Fix: pip install 'tgi-orchestrator[emulator]'",
            file=sys.stderr,
        )
        return 1
    log = TgiLogger(bool(values["json_output"]))
    log.launcher(args_debug(values))
    try:
        config = build_config(values)
    except ArgumentValidationError as exc:
        log.final_error(f'{exc.kind}("{exc}")')
        return 1
    for legacy in ("enable_cuda_graphs", "disable_usage_stats", "disable_crash_reports"):
        if values.get(legacy):
            log.launcher(f"`--{legacy.replace('_', '-')}` is not a TGI 3.3 flag; ignored", "WARN")
    import uvloop

    return uvloop.run(_serve(config, log))


class _Stopper:
    """Signal bridge: the first SIGTERM/SIGINT asks for a graceful stop."""

    def __init__(self, log: TgiLogger) -> None:
        self.event = asyncio.Event()
        self.server: object | None = None
        self.log = log

    def __call__(self) -> None:
        if not self.event.is_set() and self.server is not None:
            self.log.launcher("Terminating webserver")
            self.log.launcher("Waiting for webserver to gracefully shutdown")
            self.log.router("signal received, starting graceful shutdown", **_SERVER_RS, line=2399)
        self.event.set()
        if self.server is not None:
            self.server.should_exit = True  # type: ignore[attr-defined]


async def _serve(config: EmulatorConfig, log: TgiLogger) -> int:
    loop = asyncio.get_running_loop()
    stopper = _Stopper(log)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopper)
    try:
        ready = await run_startup(config, log, stopper.event)
    except StartupFailed as failure:
        log.final_error(failure.debug)
        return 1
    if not ready:
        return 0
    return await _run_http(config, log, stopper)


async def _run_http(config: EmulatorConfig, log: TgiLogger, stopper: _Stopper) -> int:
    import uvicorn

    from orchestrator.emulator.app import EmulatorApp
    from orchestrator.emulator.arrival import ArrivalStampingProtocol
    from orchestrator.emulator.service import Service

    service = Service(config)
    app = EmulatorApp(service)
    engine_task = asyncio.create_task(service.engine.run())
    engine_task.add_done_callback(lambda task: _engine_died(task, log))
    service.on_crash = lambda: _schedule_crash(service, log)
    uv_config = uvicorn.Config(
        app,
        host=config.bind_host,
        port=config.port,
        http=ArrivalStampingProtocol,
        ws="none",
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=True,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=int(config.graceful_termination_timeout),
        backlog=4096,
    )

    class _QuietServer(uvicorn.Server):
        """uvicorn.Server without its signal capture (we own SIGTERM; see module docstring)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            yield

    server = _QuietServer(uv_config)
    stopper.server = server
    if config.hostname_invalid:
        log.router("Invalid hostname, defaulting to 0.0.0.0", "WARN", **_SERVER_RS, line=1909)
    log.router("Connected", **_SERVER_RS, line=2302)
    if stopper.event.is_set():
        server.should_exit = True
    try:
        await server.serve()
    except (
        SystemExit
    ):  # uvicorn could not bind (it logged the OSError): TGI's router dies, the launcher exits 1
        log.router(
            "Address already in use (os error 98)", "ERROR", filename="router/src/server.rs", line=2294
        )
        log.launcher("Webserver Crashed", "ERROR")
        log.launcher("Shutting down shards")
        log.final_error("WebserverFailed")
        return 1
    engine_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await engine_task
    log.launcher("webserver terminated")
    log.launcher("Shutting down shards")
    log.shard("Terminating shard")
    log.shard("Waiting for shard to gracefully shutdown")
    log.shard("shard terminated")
    return 0


def _engine_died(task: asyncio.Task[None], log: TgiLogger) -> None:
    """The batching loop must never end on its own: if it does, behave like a dead shard (exit 1), never hang."""
    if task.cancelled():
        return
    log.shard(f"Shard complete standard error output:\n\n{task.exception()!r}", "ERROR")
    log.launcher("Shard 0 crashed", "ERROR")
    log.final_error("ShardFailed")
    os._exit(1)


def _schedule_crash(service: object, log: TgiLogger) -> None:
    asyncio.get_running_loop().create_task(_crash(service, log))


async def _crash(service: object, log: TgiLogger) -> None:
    """A shard died: fail the batch (424 / SSE errors), print TGI's crash lines, exit 1."""
    from orchestrator.emulator.service import Service

    assert isinstance(service, Service)
    await asyncio.sleep(0)
    log.shard("Shard complete standard error output:\n\nTraceback (most recent call last):\n"
              "torch.OutOfMemoryError: CUDA out of memory.", "ERROR")  # fmt: skip
    log.shard("Shard process was signaled to shutdown with signal 9", "ERROR")
    await asyncio.sleep(0.1)
    log.launcher("Shard 0 crashed", "ERROR")
    log.launcher("Terminating webserver")
    log.launcher("Waiting for webserver to gracefully shutdown")
    log.launcher("webserver terminated")
    log.launcher("Shutting down shards")
    log.final_error("ShardFailed")
    sys.stdout.flush()
    os._exit(1)
