"""vLLM's `vllm serve` command line and image layout for one release, from plain launch values [vllm-server.md].

The same settings as TGI, translated (§9): `max_total_tokens` -> `--max-model-len`, `max_batch_prefill_tokens` ->
`--max-num-batched-tokens`, `max_batch_size` -> `--max-num-seqs`, `gpu_memory_fraction` ->
`--gpu-memory-utilization`, shards -> `--tensor-parallel-size`, `max_top_n_tokens` -> `--max-logprobs`,
`max_stop_sequences` -> `VLLM_MAX_STOP_STRINGS`. `--served-model-name` is the model id, so clients name the model
as they do on TGI and the metrics label stays the id even offline. `--shutdown-timeout` comes from the stop grace
(vLLM's default 0 aborts every in-flight request on SIGTERM). Secrets never appear here: the API key reaches vLLM
as `VLLM_API_KEY` and the Hub token as `HF_TOKEN`, exported from files by the plan's wrapper.
"""

from __future__ import annotations

import math

from orchestrator.engines.base import EngineLaunch, LaunchValues, Version
from orchestrator.engines.vllm.chat_template import MISTRAL_INSTRUCT_TEMPLATE, wants_mistral_template
from orchestrator.engines.vllm.flags import flag_name
from orchestrator.engines.vllm.versions import VllmFacts, facts_for

__all__ = ["CONTAINER_PORT", "DATA_DIR", "SHUTDOWN_MARGIN", "launch", "shutdown_timeout"]

CONTAINER_PORT = 8000
"""vLLM's default `--port` [§1]; passed explicitly so custom images agree."""
DATA_DIR = "/data"
"""Where the host cache is mounted; `HF_HOME` points here, so TGI and vLLM share one Hub cache layout."""
SHUTDOWN_MARGIN = 10
"""Seconds of the stop grace kept for vLLM's own shutdown after the drain (engine core, uvicorn) [§7]."""

_OPTIONAL_LIMITS: tuple[tuple[str, str], ...] = (
    ("--max-num-batched-tokens", "max_batch_prefill_tokens"),
    ("--max-num-seqs", "max_batch_size"),
    ("--gpu-memory-utilization", "gpu_memory_fraction"),
    ("--max-logprobs", "max_top_n_tokens"),
)


def shutdown_timeout(stop_grace: float) -> int:
    """`--shutdown-timeout` for a stop grace: drain for all of it but the margin vLLM needs to exit (0 = abort)."""
    return max(0, math.floor(stop_grace) - SHUTDOWN_MARGIN)


def launch(version: Version, values: LaunchValues) -> EngineLaunch:
    """The `vllm serve` arguments and image facts for vLLM `version`."""
    facts = facts_for(version)
    return EngineLaunch(
        command=_command(values, facts),
        environment=_environment(values),
        image_entrypoint=facts.entrypoint,
        data_dir=DATA_DIR,
        token_file=f"{DATA_DIR}/token",
        token_env="HF_TOKEN",
        api_key_env="VLLM_API_KEY",
        forwards_sigterm=True,
    )


def _environment(values: LaunchValues) -> dict[str, str]:
    env = {
        "HF_HOME": DATA_DIR,
        "VLLM_CACHE_ROOT": f"{DATA_DIR}/vllm",  # keep the torch.compile cache with the weights [§1 Volumes]
        "VLLM_DISABLE_LOG_LOGO": "1",  # the one-line `vLLM server version X, serving model Y` instead [§1]
        # The API server waits 600 s for the engine core, download included [§1]: as long as `up` waits instead.
        "VLLM_ENGINE_READY_TIMEOUT_S": str(math.ceil(values.startup_deadline)),
    }
    stop = values.limits.get("max_stop_sequences")
    if stop is not None:
        env["VLLM_MAX_STOP_STRINGS"] = str(stop)
    if values.usage_stats == "off":
        env["VLLM_NO_USAGE_STATS"] = "1"
        env["DO_NOT_TRACK"] = "1"
    return env


def quantization_value(quantize: str | None, facts: VllmFacts) -> str | None:
    """The `--quantization` value for `model.quantize`: AWQ per release, others as given, unset = auto-detect."""
    if not quantize:
        return None
    return facts.awq_value if quantize == "awq" else quantize


def _command(values: LaunchValues, facts: VllmFacts) -> list[str]:
    limits = values.limits
    args = [values.model_id] if facts.positional_model else ["--model", values.model_id]
    args += ["--served-model-name", values.model_id]
    if values.revision:
        args += ["--revision", values.revision]
    quantization = quantization_value(values.quantize, facts)
    if quantization:
        args += ["--quantization", quantization]
    if values.dtype:
        args += ["--dtype", values.dtype]
    args += ["--max-model-len", str(limits["max_total_tokens"])]
    for flag, name in _OPTIONAL_LIMITS:
        value = limits.get(name)
        if value is not None:
            args += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    args += [
        "--tensor-parallel-size",
        str(values.num_shard),
        "--host",
        "0.0.0.0",
        "--port",
        str(CONTAINER_PORT),
    ]
    args += ["--shutdown-timeout", str(shutdown_timeout(values.stop_grace))]
    given = {flag_name(arg) for arg in values.extra_args if arg.startswith("--")}
    if wants_mistral_template(values.model_id) and "--chat-template" not in given:
        args += ["--chat-template", MISTRAL_INSTRUCT_TEMPLATE]
    return args + list(values.extra_args)
