"""Launcher flags the orchestrator owns: each is set from a setting (or fixed by the plan), never by extra args.

Validation rejects `engine.extra_args` that repeat one of these (TGI would take the last one, or fail when both
`--max-input-length` and `--max-input-tokens` are given), pointing at the setting to use instead.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "OWNED_FLAGS",
    "SECRET_FLAGS",
    "flag_value",
    "graceful_timeout_in",
    "mask_secret_args",
    "owned_flag_in",
]

OWNED_FLAGS: dict[str, str] = {
    "--model-id": "model.id",
    "--revision": "model.revision",
    "--quantize": "model.quantize",
    "--dtype": "model.dtype",
    "--max-input-tokens": "limits.max_input_tokens",
    "--max-input-length": "limits.max_input_tokens",
    "--max-total-tokens": "limits.max_total_tokens",
    "--max-batch-prefill-tokens": "limits.max_batch_prefill_tokens",
    "--max-batch-total-tokens": "limits.max_batch_total_tokens",
    "--max-concurrent-requests": "limits.max_concurrent_requests",
    "--max-best-of": "limits.max_best_of",
    "--max-stop-sequences": "limits.max_stop_sequences",
    "--max-top-n-tokens": "limits.max_top_n_tokens",
    "--waiting-served-ratio": "limits.waiting_served_ratio",
    "--max-waiting-tokens": "limits.max_waiting_tokens",
    "--max-batch-size": "limits.max_batch_size",
    "--cuda-memory-fraction": "limits.gpu_memory_fraction",
    "--num-shard": "host.num_shard",
    "--hostname": "host.bind_address",
    "--port": "host.port",
    "-p": "host.port",
    "--huggingface-hub-cache": "host.cache_dir",
    "--api-key": "secrets.api_key",
    "--usage-stats": "engine.usage_stats",
    "--disable-usage-stats": "engine.usage_stats",
    "--disable-crash-reports": "engine.usage_stats",
}
"""Flag -> the setting that controls it. `--hostname` and `--port` are fixed inside the container (0.0.0.0:80);
the host side is `host.bind_address` / `host.port`."""


def owned_flag_in(arg: str) -> str | None:
    """The owned flag `arg` spells (`--port`, `--port=81`, `-p81`), or None."""
    if not arg.startswith("-"):
        return None
    name = arg.split("=", 1)[0]
    if name in OWNED_FLAGS:
        return name
    if arg.startswith("-p") and not arg.startswith("--"):
        return "-p"
    return None


SECRET_FLAGS = frozenset({"--api-key", "--ngrok-authtoken"})
"""Launcher flags whose value is a secret: never shown, never passed as arguments."""

_GRACEFUL = ("--graceful-termination-timeout", "-g")


def mask_secret_args(args: list[str]) -> list[str]:
    """`args` with the value of every secret flag replaced by `***` (`--api-key=x` and `--api-key x` alike)."""
    masked: list[str] = []
    hide_next = False
    for arg in args:
        name, sep, _ = arg.partition("=")
        if hide_next:
            masked.append("***")
            hide_next = False
        elif name in SECRET_FLAGS:
            masked.append(f"{name}=***" if sep else arg)
            hide_next = not sep
        else:
            masked.append(arg)
    return masked


def flag_value(args: Sequence[str], names: Sequence[str]) -> str | None:
    """The value the last of `names` gets in `args` (`--flag V` or `--flag=V`), else None."""
    found: str | None = None
    for index, arg in enumerate(args):
        name, sep, value = arg.partition("=")
        if name in names:
            found = value if sep else (args[index + 1] if index + 1 < len(args) else "")
    return found


def graceful_timeout_in(args: Sequence[str]) -> float | None:
    """TGI's drain time (`--graceful-termination-timeout N`, `=N`, `-g N`) when extra args set it, else None."""
    found: float | None = None
    for index, arg in enumerate(args):
        name, sep, value = arg.partition("=")
        if name not in _GRACEFUL:
            continue
        text = value if sep else (args[index + 1] if index + 1 < len(args) else "")
        try:
            found = float(text)
        except ValueError:
            continue
    return found
