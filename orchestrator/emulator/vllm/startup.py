"""Start-up like vLLM 0.33.0 [vllm-server.md §3]: its lines in order while the bound port refuses connections.

Phases wait `--emulator-{download,load,warmup}-seconds`: silence while "downloading" (vLLM's progress bars are
off), weight loading, then profiling (torch.compile, KV cache sizing, CUDA graphs; no compile or graph lines with
`--enforce-eager`). The KV cache check is real: a `--max-model-len` the emulated GPU's cache cannot hold fails
as vLLM fails. Start-up faults print vLLM's failure lines: `download` an invalid repository, `load` an out-of-memory
while loading, `--emulator-warmup-oom` no memory for the cache blocks.
"""

from __future__ import annotations

import asyncio
import time

from orchestrator.emulator.core.latency import KV_BYTES_PER_TOKEN
from orchestrator.emulator.core.serve import wait_or_stop
from orchestrator.emulator.vllm.config import VllmConfig
from orchestrator.emulator.vllm.logs import VllmLogger

__all__ = ["ROUTES", "StartupFailed", "announce", "run_startup"]

_GIB = 1024**3
ROUTES = (("/health", "GET"), ("/ping", "GET, POST"), ("/version", "GET"), ("/load", "GET"),
          ("/metrics", "GET"), ("/v1/models", "GET"), ("/tokenize", "POST"), ("/detokenize", "POST"),
          ("/v1/completions", "POST"), ("/v1/chat/completions", "POST"))  # fmt: skip
_CORE_FAILED = "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {'EngineCore': 1}"


class StartupFailed(Exception):
    """Start-up failed; the traceback tail is printed, the process exits 1."""


def announce(config: VllmConfig, log: VllmLogger, via_model_flag: bool) -> None:
    """The first lines of the process: version and model, then the non-default arguments."""
    log.api(f"vLLM server version 0.33.0, serving model {config.model}", "startup.py:72")
    log.api(f"non-default args: {dict(config.non_default)}", "startup.py:80")
    if via_model_flag:
        log.api("With `vllm serve`, you should provide the model as a positional argument or in a config file "
                "instead of via the `--model` option. The `--model` option will be removed in a future version.",
                "argparse_utils.py:210", "WARNING")  # fmt: skip


def _engine_failed(log: VllmLogger, error: str) -> StartupFailed:
    log.engine("EngineCore failed to start.", "core.py:1012", "ERROR")
    log.raw(f"Traceback (most recent call last):\n  File \"/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/"
            f"core.py\", line 1003, in run_engine_core\n{error}")  # fmt: skip
    return StartupFailed(_CORE_FAILED)


async def run_startup(config: VllmConfig, log: VllmLogger, stop: asyncio.Event) -> bool:
    """Print the phases' lines and wait them; False if a signal stopped start-up. Raises StartupFailed."""
    faults = config.faults
    model = config.model
    log.api("Resolved architecture: MistralForCausalLM", "model.py:569")
    log.api(f"Using max model len {config.max_model_len}", "model.py:1721")
    log.api(f"Chunked prefill is enabled with max_num_batched_tokens={config.max_num_batched_tokens}.",
            "scheduler.py:228")  # fmt: skip
    if faults.crash_during_startup == "download":
        raise StartupFailed(
            f"ValueError: Invalid repository ID or local directory specified: '{model}'.\nPlease verify the "
            "following requirements:\n1. Provide a valid Hugging Face repository ID.\n2. Specify a local directory "
            "that contains a recognized configuration file.\n   - For Hugging Face models: ensure the presence of a "
            "'config.json'.\n   - For Mistral models: ensure the presence of a 'params.json'."
        )
    log.engine(f"Initializing a V1 LLM engine (v0.33.0) with config: model='{model}', "
               f"quantization={config.quantization}, max_seq_len={config.max_model_len}, "
               f"tensor_parallel_size={config.tensor_parallel_size}, enforce_eager={config.enforce_eager}, "
               f"served_model_name={config.served_name}", "core.py:140")  # fmt: skip
    log.engine(f"Starting to load model {model}...", "gpu_model_runner.py:4021")
    if await wait_or_stop(config.download_seconds, stop):
        return False
    if config.download_seconds > 0.5:
        log.engine(f"Time spent downloading weights for {model}: {config.download_seconds:.6f} seconds",
                   "weight_utils.py:512")  # fmt: skip
    if await wait_or_stop(config.load_seconds, stop):
        return False
    if faults.crash_during_startup == "load":
        raise _engine_failed(log, "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB. "
                                  "GPU 0 has a total capacity of 79.19 GiB of which 96.00 MiB is free.")  # fmt: skip
    log.engine(f"Loading weights took {config.load_seconds:.2f} seconds", "default_loader.py:507")
    log.engine(f"Model loading took 3.87 GiB memory and {config.load_seconds + 0.4:.6f} seconds",
               "gpu_model_runner.py:5089")  # fmt: skip
    started = time.monotonic()
    if not config.enforce_eager:
        log.engine("Using cache directory: /root/.cache/vllm/torch_compile_cache/emulator/rank_0_0/backbone for "
                   "vLLM's torch.compile", "backends.py:645")  # fmt: skip
    if await wait_or_stop(config.warmup_seconds, stop):
        return False
    if not config.enforce_eager:
        log.engine(f"torch.compile took {config.warmup_seconds / 2:.2f} s in total", "monitor.py:34")
    if faults.warmup_oom:
        raise _engine_failed(log, "ValueError: No available memory for the cache blocks. Try increasing "
                                  "`gpu_memory_utilization` when initializing the engine (this flag also controls "
                                  "CPU memory reservation on the CPU backend, despite its name). See "
                                  "https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more "
                                  "details.")  # fmt: skip
    _kv_lines(config, log)
    if not config.enforce_eager:
        log.engine("Graph capturing finished in 1 secs, took 0.50 GiB", "gpu_model_runner.py:6517")
    log.engine(f"init engine (profile, create kv cache, warmup model) took {time.monotonic() - started:.2f} s",
               "core.py:396")  # fmt: skip
    host = config.host or "0.0.0.0"
    log.api("Supported tasks: ['generate']", "entry.py:143")
    log.api(f"Starting vLLM server on http://{host}:{config.port}", "entry.py:190")
    log.api("Available routes are:", "launcher.py:47")
    for path, methods in ROUTES:
        log.api(f"Route: {path}, Methods: {methods}", "launcher.py:55")
    return not stop.is_set()


def _kv_lines(config: VllmConfig, log: VllmLogger) -> None:
    """KV cache sizing; fails as vLLM does when one request of `max_model_len` does not fit."""
    tokens = config.kv_cache_tokens
    gib = tokens * KV_BYTES_PER_TOKEN / _GIB
    if tokens < config.max_model_len:
        needed = config.max_model_len * KV_BYTES_PER_TOKEN / _GIB
        raise _engine_failed(
            log,
            f"ValueError: To serve at least one request with the model's max seq len ({config.max_model_len}), "
            f"({needed:.2f} GiB KV cache is needed, which is larger than the available KV cache memory "
            f"({gib:.2f} GiB). Based on the available memory, the estimated maximum model length is {tokens}. "
            "Try increasing `gpu_memory_utilization` (which also controls CPU memory on the CPU backend) or "
            "decreasing `max_model_len` when initializing the engine. See "
            "https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more details.",
        )
    log.engine(f"Available KV cache memory: {gib:.2f} GiB", "gpu_worker.py:773")
    log.engine(f"GPU KV cache size: {tokens:,} tokens, Maximum concurrency for {config.max_model_len:,} tokens "
               f"per request: {tokens / config.max_model_len:.2f}x", "kv_cache_utils.py:1148")  # fmt: skip
