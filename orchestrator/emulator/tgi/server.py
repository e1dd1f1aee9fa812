"""TGI's process lifecycle: parse flags, check them, start up, serve, drain on SIGTERM, exit like the launcher.

Exit codes: 0 after a clean SIGTERM/SIGINT (in-flight requests drained up to `--graceful-termination-timeout`),
1 for `Error: ArgumentValidation(...)` and every emulated crash, 2 for a command-line usage error (as clap).
The serving itself (uvicorn, signals, drain) is the core's (`core/serve.py`); this module adds TGI's log lines.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence

from orchestrator.emulator.core.serve import Stopper, http_server, stop_task
from orchestrator.emulator.tgi.config import ArgumentValidationError, EmulatorConfig, build_config
from orchestrator.emulator.tgi.flags import parse_or_exit
from orchestrator.emulator.tgi.logs import TgiLogger
from orchestrator.emulator.tgi.startup import StartupFailed, args_debug, run_startup

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


def _drain_lines(log: TgiLogger) -> Callable[[], None]:
    def drain() -> None:
        log.launcher("Terminating webserver")
        log.launcher("Waiting for webserver to gracefully shutdown")
        log.router("signal received, starting graceful shutdown", **_SERVER_RS, line=2399)

    return drain


async def _serve(config: EmulatorConfig, log: TgiLogger) -> int:
    stopper = Stopper(_drain_lines(log))
    stopper.install()
    try:
        served = await run_startup(config, log, stopper.event)
    except StartupFailed as failure:
        log.final_error(failure.debug)
        return 1
    if served is None:
        return 0
    return await _run_http(served, log, stopper)


async def _run_http(config: EmulatorConfig, log: TgiLogger, stopper: Stopper) -> int:
    from orchestrator.emulator.tgi.app import EmulatorApp
    from orchestrator.emulator.tgi.service import Service

    service = Service(config)
    app = EmulatorApp(service)
    engine_task = asyncio.create_task(service.engine.run())
    engine_task.add_done_callback(lambda task: _engine_died(task, log))
    service.on_crash = lambda: _schedule_crash(service, log)
    server = http_server(app, host=config.bind_host, port=config.port,
                         graceful_timeout=config.graceful_termination_timeout)  # fmt: skip
    stopper.serve_with(server)
    if config.hostname_invalid:
        log.router("Invalid hostname, defaulting to 0.0.0.0", "WARN", **_SERVER_RS, line=1909)
    log.router("Connected", **_SERVER_RS, line=2302)
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
    await stop_task(engine_task)
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
    from orchestrator.emulator.tgi.service import Service

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
