"""TGI's command line and image layout for one release, from plain launch values.

`--num-shard` is always explicit (TGI counts `all` as one GPU before v3.3.7); `--hostname 0.0.0.0` is explicit
because Docker sets HOSTNAME to the container id, which TGI would pick up. Secrets never appear here: the API key
and the Hub token reach the launcher through files and an exporting wrapper (`orchestrator.launch.plan`).
"""

from __future__ import annotations

from orchestrator.engines.base import EngineLaunch, LaunchValues, Version
from orchestrator.engines.tgi.versions import DTYPE_COMPATIBLE_QUANTIZE, TgiFacts, facts_for

__all__ = ["CONTAINER_PORT", "DATA_DIR", "launch"]

CONTAINER_PORT = 80
"""TGI images set PORT=80 [reference §7]; we pass `--port 80` so custom images agree."""
DATA_DIR = "/data"

_OPTIONAL_LIMITS: tuple[tuple[str, str], ...] = (
    ("--max-total-tokens", "max_total_tokens"),
    ("--max-batch-prefill-tokens", "max_batch_prefill_tokens"),
    ("--max-batch-total-tokens", "max_batch_total_tokens"),
    ("--max-concurrent-requests", "max_concurrent_requests"),
    ("--max-best-of", "max_best_of"),
    ("--max-stop-sequences", "max_stop_sequences"),
    ("--max-top-n-tokens", "max_top_n_tokens"),
    ("--waiting-served-ratio", "waiting_served_ratio"),
    ("--max-waiting-tokens", "max_waiting_tokens"),
    ("--max-batch-size", "max_batch_size"),
    ("--cuda-memory-fraction", "gpu_memory_fraction"),
)


def launch(version: Version, values: LaunchValues) -> EngineLaunch:
    """The launcher arguments and image facts for TGI `version`."""
    facts = facts_for(version)
    return EngineLaunch(
        command=_command(values, facts),
        environment={facts.cache_env: DATA_DIR},
        image_entrypoint=facts.entrypoint,
        data_dir=DATA_DIR,
        token_file=facts.token_file,
        token_env=facts.token_env,
        api_key_env="API_KEY",
        forwards_sigterm=facts.forwards_sigterm,
    )


def _command(values: LaunchValues, facts: TgiFacts) -> list[str]:
    limits = values.limits
    args = ["--model-id", values.model_id]
    if values.revision:
        args += ["--revision", values.revision]
    if values.quantize:
        args += ["--quantize", values.quantize]
    # never with AWQ (nor gptq...): TGI's shard aborts on --dtype with those
    if values.dtype and (values.quantize or None) in DTYPE_COMPATIBLE_QUANTIZE:
        args += ["--dtype", values.dtype]
    args += [facts.input_limit_flag, str(limits["max_input_tokens"])]
    for flag, name in _OPTIONAL_LIMITS:
        value = limits.get(name)
        if value is not None:
            args += [flag, str(value)]
    args += ["--num-shard", str(values.num_shard), "--hostname", "0.0.0.0", "--port", str(CONTAINER_PORT)]
    args += facts.usage_stats_args(values.usage_stats)
    return args + list(values.extra_args)
