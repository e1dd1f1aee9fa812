"""vLLM's process lifecycle: parse `vllm serve` arguments, check them, start up, serve, shut down on SIGTERM.

The listening socket is bound right after the first log lines (a busy port fails before any model work) but
listens only once `Application startup complete.` is printed, so connections are refused during start-up, as with
vLLM. SIGTERM while serving: `--shutdown-timeout 0` (the default) aborts in-flight requests (`finish_reason:
abort`); N > 0 drains them for up to N seconds first; new requests meanwhile get 503. Exit codes: 0 after a clean
shutdown, 1 for a configuration or start-up failure, 2 for an argument error, 130 for a signal during start-up.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from orchestrator.emulator.core.serve import Stopper, http_server, stop_task
from orchestrator.emulator.vllm.cli import ParseExit, parse_serve, serve_defaults
from orchestrator.emulator.vllm.config import ConfigError, VllmConfig, build_config
from orchestrator.emulator.vllm.logs import VllmLogger
from orchestrator.emulator.vllm.startup import StartupFailed, announce, run_startup

if TYPE_CHECKING:
    from orchestrator.emulator.vllm.service import VllmService

__all__ = ["main"]

_LAUNCHER = "launcher.py:120"
_ENGINE_DEATH_WATCHDOG_SECONDS = 5.0
_STATS_SECONDS = float(os.environ.get("EMULATOR_VLLM_STATS_SECONDS", "10"))  # tests need not wait 10 s


def main(argv: Sequence[str] | None = None) -> int:
    """`vllm [serve MODEL flags]`: the arguments after the program name; returns the exit code."""
    try:
        ns = parse_serve(sys.argv[1:] if argv is None else argv)
    except ParseExit as done:
        return done.code
    missing = [name for name in ("uvicorn", "uvloop", "httptools") if importlib.util.find_spec(name) is None]
    if missing:
        print(f"Error: the emulator's server stack is not installed ({', '.join(missing)} missing). "
              "Fix: pip install 'tgi-orchestrator[emulator]'", file=sys.stderr)  # fmt: skip
        return 1
    log = VllmLogger()
    try:
        config, via_model_flag = build_config(ns, serve_defaults())
    except ConfigError as error:
        log.raw(error.traceback())
        return 1
    announce(config, log, via_model_flag)
    try:
        listener = _bind(config)
    except OSError as error:
        log.raw(f"Traceback (most recent call last):\n  File \"/usr/local/bin/vllm\", line 10, in <module>\n"
                f"OSError: [Errno {error.errno}] {error.strerror}")  # fmt: skip
        return 1
    import uvloop

    with listener:
        return uvloop.run(_serve(config, log, listener))


def _bind(config: VllmConfig) -> socket.socket:
    """The API socket, bound but not listening (vLLM binds before the engine starts)."""
    listener = socket.socket(
        socket.AF_INET6 if ":" in config.bind_host else socket.AF_INET, socket.SOCK_STREAM
    )
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((config.bind_host, config.port))
    except OSError:
        listener.close()
        raise
    return listener


async def _serve(config: VllmConfig, log: VllmLogger, listener: socket.socket) -> int:
    from orchestrator.emulator.vllm.app import VllmApp
    from orchestrator.emulator.vllm.service import VllmService

    holder: list[VllmService] = []
    stopper = Stopper(lambda: _shutdown_lines(config, log), lambda: _stop_engine(holder[0], log))
    stopper.install()
    try:
        ready = await run_startup(config, log, stopper.event)
    except StartupFailed as failure:
        log.raw(str(failure))
        return 1
    if not ready:
        log.raw("Traceback (most recent call last):\n  File \"/usr/local/bin/vllm\", line 10, in <module>\n"
                "KeyboardInterrupt: terminated")  # fmt: skip
        return 130
    service = VllmService(config)
    holder.append(service)
    engine_task = asyncio.create_task(service.engine.run())
    stats_task = asyncio.create_task(_log_stats(service, log))
    server = http_server(VllmApp(service), host=config.bind_host, port=config.port, graceful_timeout=5,
                         on_listening=lambda: log.uvicorn("Application startup complete."))  # fmt: skip
    service.on_crash = lambda: _engine_died(service, log, server)
    stopper.serve_with(server)
    log.uvicorn(f"Started server process [{os.getpid()}]")
    log.uvicorn("Waiting for application startup.")
    await server.serve(sockets=[listener])
    await stop_task(stats_task)
    await stop_task(engine_task)
    log.uvicorn("Shutting down")
    log.uvicorn("Waiting for application shutdown.")
    log.uvicorn("Application shutdown complete.")
    log.uvicorn(f"Finished server process [{os.getpid()}]")
    return 0


async def _log_stats(service: VllmService, log: VllmLogger, every: float = _STATS_SECONDS) -> None:
    """vLLM's periodic engine line, every ~10 s while there is work (never returns; cancelled at exit)."""
    last = service.totals()
    while True:
        await asyncio.sleep(every)
        now = service.totals()
        engine = service.engine
        running, waiting = len(engine.running), len(engine.waiting)
        if now == last and not running and not waiting:
            continue
        usage = service.metrics.gauges.get(("vllm:kv_cache_usage_perc", service.labels), 0.0)
        log.api(f"Engine 000: Avg prompt throughput: {(now[0] - last[0]) / every:.1f} tokens/s, Avg generation "
                f"throughput: {(now[1] - last[1]) / every:.1f} tokens/s, Running: {running} reqs, Waiting: "
                f"{waiting} reqs, GPU KV cache usage: {usage * 100:.1f}%, Prefix cache hit rate: 0.0%",
                "loggers.py:236")  # fmt: skip
        last = now


def _mode(config: VllmConfig) -> str:
    timeout = config.shutdown_timeout
    return f"mode=drain timeout={timeout}s" if timeout > 0 else "mode=abort timeout=0s"


def _shutdown_lines(config: VllmConfig, log: VllmLogger) -> None:
    log.api("[shutdown] API server: shutdown triggered", _LAUNCHER)
    log.api(f"[shutdown] API server: stopping engine client {_mode(config)}", _LAUNCHER)


async def _stop_engine(service: VllmService, log: VllmLogger) -> None:
    """Stop taking requests, drain for `--shutdown-timeout` seconds (if any), abort the rest."""
    config = service.config
    service.stopping = True
    count = len(service.in_flight)
    log.engine(f"[shutdown] EngineCore: start {_mode(config).split(' ')[0]}", "core.py:1290")
    if config.shutdown_timeout > 0:
        log.engine(f"[shutdown] EngineCore: draining in-flight requests count={count} "
                   f"timeout={config.shutdown_timeout}s", "core.py:1301")  # fmt: skip
        await service.drain(config.shutdown_timeout)
        leftover = service.abort_all()
        if leftover:
            log.engine(f"[shutdown] EngineCore: aborting in-flight requests count={leftover}", "core.py:1297")
    else:
        log.engine(f"[shutdown] EngineCore: aborting in-flight requests count={count}", "core.py:1297")
        service.abort_all()
    await asyncio.sleep(0)
    log.api("[shutdown] API server: engine client stopped", _LAUNCHER)
    log.api("[shutdown] API server: signalling HTTP server shutdown", _LAUNCHER)


def _engine_died(service: object, log: VllmLogger, server: object) -> None:
    """The engine core died: requests fail with 500, `/health` is 503; the watchdog then stops the server."""
    log.engine("EngineCore encountered a fatal error.", "core.py:1120", "ERROR")
    log.raw("Traceback (most recent call last):\ntorch.AcceleratorError: CUDA error: an illegal memory access was "
            "encountered")  # fmt: skip
    log.api(
        "[shutdown] MPClient: engine core exited unexpectedly; starting cleanup",
        "core_client.py:633",
        "ERROR",
    )
    log.raw("vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) "
            "for the root cause.")  # fmt: skip
    if os.environ.get("VLLM_KEEP_ALIVE_ON_ENGINE_DEATH") == "1":
        return

    def stop() -> None:
        log.api("Engine failed, shutting down the server.", "launcher.py:161", "ERROR")
        server.should_exit = True  # type: ignore[attr-defined]

    asyncio.get_running_loop().call_later(_ENGINE_DEATH_WATCHDOG_SECONDS, stop)
