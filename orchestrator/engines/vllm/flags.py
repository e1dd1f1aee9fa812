"""`vllm serve` flags the orchestrator owns (each set from a setting, or fixed by the plan) and those holding secrets.

vLLM's parser treats `_` and `-` alike (`--max_model_len` is `--max-model-len`) [vllm-server.md §2], so every
lookup normalises the name first. Validation rejects extra args that repeat an owned flag, naming the setting.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "OWNED_FLAGS",
    "SECRET_FLAGS",
    "flag_name",
    "mask_secret_args",
    "owned_flag_in",
    "shutdown_timeout_in",
]

OWNED_FLAGS: dict[str, str] = {
    "--model": "model.id",
    "--served-model-name": "model.id",
    "--revision": "model.revision",
    "--quantization": "model.quantize",
    "-q": "model.quantize",
    "--dtype": "model.dtype",
    "--max-model-len": "limits.max_total_tokens",
    "--max-num-batched-tokens": "limits.max_batch_prefill_tokens",
    "--max-num-seqs": "limits.max_batch_size",
    "--max-logprobs": "limits.max_top_n_tokens",
    "--gpu-memory-utilization": "limits.gpu_memory_fraction",
    "--device-memory-utilization": "limits.gpu_memory_fraction",
    "--tensor-parallel-size": "host.num_shard",
    "-tp": "host.num_shard",
    "--host": "host.bind_address",
    "--port": "host.port",
    "--download-dir": "host.cache_dir",
    "--api-key": "secrets.api_key",
    "--hf-token": "secrets.hf_token",
    "--shutdown-timeout": "timeouts.stop_grace",
}
"""Flag -> the setting behind it. `--host`/`--port` are fixed inside the container (0.0.0.0:8000); the host side
is `host.bind_address`/`host.port`. `--shutdown-timeout` is derived from `timeouts.stop_grace`."""

SECRET_FLAGS = frozenset({"--api-key", "--hf-token"})
"""Flags whose values are secrets (`--api-key` takes one or more keys)."""


def flag_name(arg: str) -> str:
    """The canonical name of a flag argument: `--max_model_len=4096` -> `--max-model-len`."""
    name = arg.split("=", 1)[0]
    return "--" + name[2:].replace("_", "-") if name.startswith("--") else name


def owned_flag_in(arg: str) -> str | None:
    """The owned flag `arg` spells (`--port`, `--max_model_len=1k`, `-tp`), or None."""
    if not arg.startswith("-"):
        return None
    name = flag_name(arg)
    return name if name in OWNED_FLAGS else None


def mask_secret_args(args: list[str]) -> list[str]:
    """`args` with every secret value replaced by `***`, including each value of a multi-key `--api-key`."""
    masked: list[str] = []
    hiding = False
    for arg in args:
        if hiding and not arg.startswith("-"):
            masked.append("***")
            continue
        hiding = False
        name = flag_name(arg)
        if name in SECRET_FLAGS and "=" in arg:
            masked.append(f"{arg.split('=', 1)[0]}=***")
        elif name in SECRET_FLAGS:
            masked.append(arg)
            hiding = True
        else:
            masked.append(arg)
    return masked


def shutdown_timeout_in(args: Sequence[str]) -> float | None:
    """The `--shutdown-timeout` drain (seconds) when `args` set it, else None."""
    found: float | None = None
    for index, arg in enumerate(args):
        if flag_name(arg) != "--shutdown-timeout":
            continue
        text = arg.split("=", 1)[1] if "=" in arg else (args[index + 1] if index + 1 < len(args) else "")
        try:
            found = float(text)
        except ValueError:
            continue
    return found
