"""Start-up like TGI 3.3.x: milestone log lines through download, shard load and warm-up; the port stays closed.

Phase lengths come from `--emulator-{download,load,warmup}-seconds`. The download step goes through the real
Hugging Face cache when there is one to read (`emulator/tgi/download.py`: offline, an `HF_ENDPOINT`, or the
revision already cached); the model's `config.json` then sets the limits' defaults and its tokenizer is used.
A SIGTERM during start-up ends it cleanly
(exit 0, as the launcher does); the start-up faults reproduce TGI's failure lines and exit 1: a download error, a
shard that fails to load, and a warm-up out-of-memory error ("... decrease `--max-batch-prefill-tokens`").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.emulator.core.model_files import HubEnv, ModelFiles
from orchestrator.emulator.core.serve import wait_or_stop
from orchestrator.emulator.tgi.config import (
    EmulatorConfig,
    RouterValidationError,
    router_argument_checks,
    router_checks,
    warmup_checks,
    with_model_files,
)
from orchestrator.emulator.tgi.download import DownloadFailed, download_step, shard_file_error
from orchestrator.emulator.tgi.flags import LAUNCHER_FLAGS
from orchestrator.emulator.tgi.logs import TgiLogger

__all__ = ["StartupFailed", "args_debug", "run_startup"]

SHARD_WAIT_LOG_EVERY = 10.0


class StartupFailed(Exception):
    """Start-up failed; `debug` is what Rust's main prints after `Error: `."""

    def __init__(self, debug: str) -> None:
        super().__init__(debug)
        self.debug = debug


_RUST_VARIANTS = {"bfloat16": "BFloat16", "fp8_e4m3fn": "Fp8e4m3fn", "fp8_e5m2": "Fp8e5m2"}


def _variant(value: str) -> str:
    """A clap value-enum name as Rust's Debug prints the variant: `compressed-tensors` -> `CompressedTensors`."""
    return _RUST_VARIANTS.get(value) or "".join(part.capitalize() for part in value.split("-"))


def _rust_debug(value: Any, enum: bool = False) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _variant(value) if enum else f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_rust_debug(v) for v in value) + "]"
    return str(value)


def args_debug(values: Mapping[str, Any]) -> str:
    """The launcher's `Args { ... }` start-up line ({:#?} formatting). TGI prints the API key in clear; we redact
    it (project rule) unless `--emulator-log-api-key` asks for TGI's behaviour, to test log redaction."""
    lines = ["Args {"]
    for flag in LAUNCHER_FLAGS:
        value = values.get(flag.dest)
        enum = flag.kind == "enum"
        if flag.dest == "api_key" and value and not values.get("emulator_log_api_key"):
            rendered = 'Some("<redacted>")'
        elif flag.kind == "strings":
            rendered = _rust_debug(value or [])
        elif flag.kind == "switch" or flag.default is not None:
            rendered = _rust_debug(value, enum)
        else:
            rendered = "None" if value is None else f"Some({_rust_debug(value, enum)})"
        lines.append(f"    {flag.dest}: {rendered},")
    lines.append("}")
    return "\n".join(lines)


async def run_startup(
    config: EmulatorConfig, log: TgiLogger, stop: asyncio.Event, env: HubEnv | None = None
) -> EmulatorConfig | None:
    """Print the milestones and wait the phases; the config to serve with (the model's own limits and tokenizer
    when its files were read), or None if a SIGTERM stopped start-up. Raises StartupFailed."""
    log.launcher("Using attention flashinfer - Prefix caching true")
    if config.prefill_defaulted:
        log.launcher(f"Default `max_batch_prefill_tokens` to {config.max_batch_prefill_tokens}")
    _launcher_notes(config, log)
    log.launcher(f"Starting check and download process for {config.model_id}", span="download")
    try:
        files = await download_step(config.model_id, config.revision, log, env or HubEnv.from_environ())
    except DownloadFailed as failure:
        log.launcher("Download encountered an error: \nTraceback (most recent call last):\n" + failure.detail,
                     "ERROR", span="download")  # fmt: skip
        raise StartupFailed("DownloadError") from None
    if files is None and not await _simulated_download(config, log, stop):
        return None
    log.launcher(f"Successfully downloaded weights for {config.model_id}")
    if not await _load_shard(config, log, stop, files):
        return None
    if files is not None:
        config = with_model_files(config, files)
    return config if await _warm_up(config, log, stop) else None


async def _simulated_download(config: EmulatorConfig, log: TgiLogger, stop: asyncio.Event) -> bool:
    """No cache to read: the built-in model's download lines and wait; False if a SIGTERM stopped it."""
    faults = config.faults
    if config.download_seconds > 0 or faults.crash_during_startup == "download":
        log.download("Download file: model.safetensors")
        if await wait_or_stop(config.download_seconds, stop):
            log.launcher("Terminating download")
            log.launcher("Waiting for download to gracefully shutdown")
            log.launcher("download terminated")
            return False
        if faults.crash_during_startup == "download":
            log.launcher("Download encountered an error: \nTraceback (most recent call last):\n"
                         "OSError: [Errno 28] No space left on device", "ERROR", span="download")  # fmt: skip
            raise StartupFailed("DownloadError")
        log.download(f"Downloaded /data/hub/models--{config.model_id.replace('/', '--')}/model.safetensors "
                     f"in 0:00:{int(config.download_seconds):02d}.")  # fmt: skip
        log.download("Download: [1/1] -- ETA: 0")
    else:
        log.download("Files are already present on the host. Skipping download.")
    return True


async def _load_shard(
    config: EmulatorConfig, log: TgiLogger, stop: asyncio.Event, files: ModelFiles | None
) -> bool:
    """The shard's load phase; False if a SIGTERM stopped it. Raises StartupFailed."""
    faults = config.faults
    log.shard("Starting shard")
    started = time.monotonic()
    remaining = config.load_seconds
    while remaining > 0:
        step = min(SHARD_WAIT_LOG_EVERY, remaining)
        if await wait_or_stop(step, stop):
            _shutdown_shards(log)
            return False
        remaining -= step
        if remaining > 0:
            log.shard("Waiting for shard to be ready...")
    if stop.is_set():
        _shutdown_shards(log)
        return False
    if faults.crash_during_startup == "load":
        log.shard("Shard complete standard error output:\n\nTraceback (most recent call last):\n"
                  "  File \"/usr/src/server/text_generation_server/cli.py\", line 119, in serve\n"
                  "RuntimeError: CUDA error: no kernel image is available for execution on the device", "ERROR")  # fmt: skip
        log.launcher("Shard 0 failed to start", "ERROR")
        log.launcher("Shutting down shards")
        raise StartupFailed("ShardCannotStart")
    missing = shard_file_error(files, config.model_id) if files is not None else None
    if missing is not None:
        log.shard(
            "Shard complete standard error output:\n\nTraceback (most recent call last):\n" + missing, "ERROR"
        )
        log.launcher("Shard 0 failed to start", "ERROR")
        log.launcher("Shutting down shards")
        raise StartupFailed("ShardCannotStart")
    log.shard("Server started at unix:///tmp/text-generation-server-0")
    log.shard(f"Shard ready in {time.monotonic() - started + 0.5:.1f}s")
    return True


async def _warm_up(config: EmulatorConfig, log: TgiLogger, stop: asyncio.Event) -> bool:
    """The router's start and warm-up; False if a SIGTERM stopped it. Raises StartupFailed."""
    faults = config.faults
    log.launcher("Starting Webserver")
    _router_check(router_argument_checks, config, log)
    log.router("Warming up model", line=125)
    if await wait_or_stop(config.warmup_seconds, stop):
        _shutdown_shards(log)
        return False
    if faults.warmup_oom:
        message = (f"Not enough memory to handle {config.max_batch_prefill_tokens} prefill tokens. "
                   "You need to decrease `--max-batch-prefill-tokens`")  # fmt: skip
        log.router(f"Server error: {message}", "ERROR", filename="backends/v3/src/client/mod.rs", line=45)
        _webserver_crashed(log, f'Backend(Warmup(Generation("{message}")))')
    log.shard(f"KV-cache blocks: {config.max_batch_total_tokens}, size: 1")
    if config.cuda_graphs:
        log.shard(f"Cuda Graphs are enabled for sizes {sorted(config.cuda_graphs, reverse=True)}")
    else:
        log.shard("Cuda Graphs are disabled (CUDA_GRAPHS=None).")
    if config.max_batch_total_tokens_given is not None:  # flash-attention models ignore it (v3 lib.rs)
        log.router("`--max-batch-total-tokens` is deprecated for Flash Attention models.", "WARN", line=90)
        log.router(f"Inferred max batch total tokens: {config.max_batch_total_tokens}", "WARN", line=94)
    _router_check(warmup_checks, config, log)
    log.router(f"Setting max batch total tokens to {config.max_batch_total_tokens}", line=137)
    log.router("Using backend V3", line=166)
    if config.input_tokens_defaulted:
        log.router(f"Maximum input tokens defaulted to {config.max_input_tokens}", **_ROUTER_MAIN, line=168)
    if config.total_tokens_defaulted:
        log.router(f"Maximum total tokens defaulted to {config.max_total_tokens}", **_ROUTER_MAIN, line=174)
    _router_check(router_checks, config, log)
    return True


_ROUTER_MAIN = {"filename": "backends/v3/src/main.rs", "target": "text_generation_router"}


def _launcher_notes(config: EmulatorConfig, log: TgiLogger) -> None:
    """What the launcher logs about its arguments before the download, in its order."""
    if config.quantize == "bitsandbytes":
        log.launcher("Bitsandbytes is deprecated, use `eetq` instead, which provides better latencies overall and "
                     "is drop-in in most cases.", "WARN")  # fmt: skip
    if config.cuda_graphs_defaulted:
        log.launcher(f"Using default cuda graphs {list(config.cuda_graphs)}")
    elif config.raw.get("cuda_graphs") is None and config.quantize == "bitsandbytes":
        log.launcher("Bitsandbytes doesn't work with cuda graphs, deactivating them", "WARN")
    elif config.raw.get("cuda_graphs") is None and config.quantize == "exl2":
        log.launcher("Exl2 doesn't work with cuda graphs, deactivating them", "WARN")
    if config.trust_remote_code:
        log.launcher(f"`trust_remote_code` is set. Trusting that model `{config.model_id}` do not contain "
                     "malicious code.", "WARN")  # fmt: skip


def _router_check(check: Callable[[EmulatorConfig], None], config: EmulatorConfig, log: TgiLogger) -> None:
    try:
        check(config)
    except RouterValidationError as exc:
        _webserver_crashed(log, str(exc))


def _webserver_crashed(log: TgiLogger, router_error: str) -> None:
    """The router exited with `router_error` (Rust's `Error: <Debug>` on its stderr, relayed by the launcher to
    its stdout); the launcher then logs "Webserver Crashed", stops the shards and fails with WebserverFailed."""
    log.relay(f"Error: {router_error}")
    log.launcher("Webserver Crashed", "ERROR")
    _shutdown_shards(log)
    raise StartupFailed("WebserverFailed")


def _shutdown_shards(log: TgiLogger) -> None:
    log.launcher("Shutting down shards")
    log.shard("Terminating shard")
    log.shard("Waiting for shard to gracefully shutdown")
    log.shard("shard terminated")
