"""Parsed `vllm serve` flags -> a checked `VllmConfig`, with vLLM 0.33.0's defaults and its start-up checks.

Defaults that depend on the GPU (`--max-num-seqs`, `--max-num-batched-tokens`) follow `get_batch_defaults` on the
latency profile's GPU; the KV cache holds (memory x `--gpu-memory-utilization` - weights - overhead) / 128 KiB
tokens. Checks raise `ConfigError`, printed as the pydantic or ValueError traceback vLLM ends with (exit 1).
"""

from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestrator.emulator.core.faults import FaultConfig
from orchestrator.emulator.core.knobs import KnobError, fault_config, latency_profile, phase_seconds, rate
from orchestrator.emulator.core.latency import LatencyProfile

__all__ = ["ConfigError", "VllmConfig", "build_config"]

DERIVED_MAX_MODEL_LEN = 32_768  # Mistral 7B v0.2 config.json max_position_embeddings
ATTENTION_HEADS = 32
_GIB = 1024**3
_QUANTIZATIONS = ("awq", "awq_marlin", "auto_awq", "marlin", "gptq", "gptq_marlin", "fp8", "bitsandbytes",
                  "compressed-tensors", "gguf", "modelopt", "experts_int8", "torchao", "mxfp4")  # fmt: skip
_AWQ_NAMES = ("awq", "awq_marlin", "auto_awq", "marlin")


class ConfigError(Exception):
    """A check failed: `kind` is the exception vLLM raises, `model` the pydantic model for validation errors."""

    def __init__(self, message: str, *, kind: str = "ValueError", model: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.model = model

    def traceback(self) -> str:
        """The end of the traceback vLLM prints (exit 1)."""
        head = 'Traceback (most recent call last):\n  File "/usr/local/bin/vllm", line 10, in <module>\n'
        if self.model is None:
            return f"{head}{self.kind}: {self}"
        return (f"{head}pydantic_core._pydantic_core.ValidationError: 1 validation error for {self.model}\n"
                f"  {self}\n    For further information visit https://errors.pydantic.dev/2.12/v/value_error")  # fmt: skip


@dataclass(frozen=True)
class VllmConfig:
    """Everything the running vLLM emulator needs, defaults resolved."""

    model: str
    served_model_names: tuple[str, ...]
    host: str | None
    port: int
    max_model_len: int
    max_num_batched_tokens: int
    max_num_seqs: int
    max_num_queued_reqs: int | None
    gpu_memory_utilization: float
    tensor_parallel_size: int
    data_parallel_size: int
    api_keys: tuple[str, ...] = field(repr=False)
    shutdown_timeout: int
    chat_template: str | None
    quantization: str
    max_logprobs: int
    enable_request_id_headers: bool
    enable_force_include_usage: bool
    enable_server_load_tracking: bool
    enforce_eager: bool
    sse_keep_alive_interval: float
    kv_cache_tokens: int
    fingerprint: str
    non_default: Mapping[str, object] = field(repr=False)
    profile: LatencyProfile
    faults: FaultConfig
    eos_rate: float
    download_seconds: float
    load_seconds: float
    warmup_seconds: float
    record_limit: int

    @property
    def served_name(self) -> str:
        return self.served_model_names[0]

    @property
    def bind_host(self) -> str:
        return "" if self.host is None else self.host


def _model(ns: argparse.Namespace) -> tuple[str, bool]:
    """(model, given by `--model`); vLLM moves `--model X` to the front with a warning."""
    if ns.model_tag is not None:
        return ns.model_tag, False
    if ns.model is not None:
        return ns.model, True
    if ns.served_model_name:
        raise ConfigError("`model` should be provided as the first positional argument, e.g. "
                          "`vllm serve MODEL --served-model-name NAME`.")  # fmt: skip
    return "Qwen/Qwen3-0.6B", False


def _max_model_len(given: int | None, kv_tokens: int, environ: Mapping[str, str]) -> int:
    if given is None:
        return DERIVED_MAX_MODEL_LEN
    if given == -1:
        return max(16, min(DERIVED_MAX_MODEL_LEN, kv_tokens))
    if given > DERIVED_MAX_MODEL_LEN and environ.get("VLLM_ALLOW_LONG_MAX_MODEL_LEN") != "1":
        raise ConfigError(
            f"Value error, User-specified max_model_len ({given}) is greater than the derived max_model_len "
            f"(max_position_embeddings={DERIVED_MAX_MODEL_LEN} or model_max_length=None in model's config.json). "
            "To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. "
            "VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used with extreme caution. If the model uses relative position "
            "encoding (RoPE), positions exceeding derived_max_model_len lead to nan. If the model uses absolute "
            "position encoding, positions exceeding derived_max_model_len will cause a CUDA array out-of-bounds "
            f"error. [type=value_error, input_value={given}, input_type=int]",
            model="ModelConfig",
        )
    return given


def _quantization(given: str | None, model: str) -> str:
    awq_checkpoint = "awq" in model.lower()
    if given is not None and given not in _QUANTIZATIONS:
        raise ConfigError(f"Unknown quantization method: {given}. Must be one of {list(_QUANTIZATIONS)}.")
    if given is not None and awq_checkpoint and given not in _AWQ_NAMES:
        raise ConfigError(
            "Value error, Quantization method specified in the model config (awq) does not match the quantization "
            f"method specified in the `quantization` argument ({given}). [type=value_error]", model="ModelConfig"
        )  # fmt: skip
    if awq_checkpoint:
        return "auto_awq"
    return given or "None"


def _scheduler(ns: argparse.Namespace, profile: LatencyProfile, max_model_len: int) -> tuple[int, int]:
    """(max_num_batched_tokens, max_num_seqs): vLLM's GPU-memory defaults, then its SchedulerConfig checks."""
    memory_gib = profile.memory_bytes / _GIB
    a100 = "a100" in profile.gpu_name
    batched = ns.max_num_batched_tokens
    if batched is None:
        batched = 16384 if memory_gib >= 160 else 8192 if memory_gib >= 70 and not a100 else 2048
    seqs = ns.max_num_seqs if ns.max_num_seqs is not None else (1024 if memory_gib >= 70 else 256)
    if batched < seqs:
        raise ConfigError(f"Value error, max_num_batched_tokens ({batched}) must be greater than or equal to "
                          f"max_num_seqs ({seqs}). [type=value_error]", model="SchedulerConfig")  # fmt: skip
    if not ns.enable_chunked_prefill and batched < max_model_len:
        raise ConfigError(
            f"Value error, max_num_batched_tokens ({batched}) is smaller than max_model_len ({max_model_len}). "
            "This effectively limits the maximum sequence length to max_num_batched_tokens and makes vLLM reject "
            "longer sequences. Please increase max_num_batched_tokens or decrease max_model_len. "
            "[type=value_error]", model="SchedulerConfig",
        )  # fmt: skip
    return batched, seqs


def _non_default(ns: argparse.Namespace, parser_defaults: Mapping[str, object]) -> dict[str, object]:
    """The `non-default args: {...}` of the start-up log, API keys shown as `***`."""
    out: dict[str, object] = {}
    for key, value in vars(ns).items():
        if key == "subparser" or key.startswith("emulator_") or parser_defaults.get(key, value) == value:
            continue
        out[key] = "***" if key == "api_key" else value
    return out


def build_config(ns: argparse.Namespace, parser_defaults: Mapping[str, object],
                 environ: Mapping[str, str] | None = None) -> tuple[VllmConfig, bool]:  # fmt: skip
    """(config, `--model` was used); raises ConfigError for what vLLM rejects before serving."""
    env = os.environ if environ is None else environ
    model, via_flag = _model(ns)
    try:
        values = vars(ns)
        profile, faults, eos_rate = (
            latency_profile(values),
            fault_config(values),
            rate(values, "emulator_eos_rate"),
        )
    except KnobError as exc:
        raise ConfigError(str(exc)) from None
    if not 0 < ns.gpu_memory_utilization <= 1:
        relation = "greater than 0" if ns.gpu_memory_utilization <= 0 else "less than or equal to 1"
        raise ConfigError(f"gpu_memory_utilization\n  Input should be {relation} [type=less_than_equal, "
                          f"input_value={ns.gpu_memory_utilization}, input_type=float]", model="CacheConfig")  # fmt: skip
    if ns.tensor_parallel_size < 1 or ATTENTION_HEADS % ns.tensor_parallel_size:
        raise ConfigError(f"Total number of attention heads ({ATTENTION_HEADS}) must be divisible by tensor "
                          f"parallel size ({ns.tensor_parallel_size}).")  # fmt: skip
    quantization = _quantization(ns.quantization, model)
    kv_tokens = ns.emulator_kv_cache_tokens
    if kv_tokens is None:
        kv_tokens = profile.kv_capacity_tokens(ns.gpu_memory_utilization, headroom=1.0)
    max_model_len = _max_model_len(ns.max_model_len, kv_tokens, env)
    batched, seqs = _scheduler(ns, profile, max_model_len)
    keys = tuple(ns.api_key or ([env["VLLM_API_KEY"]] if env.get("VLLM_API_KEY") else []))
    download, load, warmup = phase_seconds(values)
    tp = f"-tp{ns.tensor_parallel_size}" if ns.tensor_parallel_size > 1 else ""
    dp = f"-dp{ns.data_parallel_size}" if ns.data_parallel_size > 1 else ""
    digest = hashlib.sha256(repr((model, max_model_len, batched, seqs, quantization)).encode()).hexdigest()[
        :8
    ]
    config = VllmConfig(
        model=model,
        served_model_names=tuple(ns.served_model_name or [model]),
        host=ns.host,
        port=ns.port,
        max_model_len=max_model_len,
        max_num_batched_tokens=batched,
        max_num_seqs=seqs,
        max_num_queued_reqs=ns.max_num_queued_reqs,
        gpu_memory_utilization=ns.gpu_memory_utilization,
        tensor_parallel_size=ns.tensor_parallel_size,
        data_parallel_size=ns.data_parallel_size,
        api_keys=keys,
        shutdown_timeout=ns.shutdown_timeout,
        chat_template=ns.chat_template,
        quantization=quantization,
        max_logprobs=ns.max_logprobs,
        enable_request_id_headers=ns.enable_request_id_headers,
        enable_force_include_usage=ns.enable_force_include_usage,
        enable_server_load_tracking=ns.enable_server_load_tracking,
        enforce_eager=ns.enforce_eager,
        sse_keep_alive_interval=float(ns.sse_keep_alive_interval),
        kv_cache_tokens=kv_tokens,
        fingerprint=f"vllm-0.33.0{tp}{dp}-{digest}",
        non_default=_non_default(ns, parser_defaults),
        profile=profile,
        faults=faults,
        eos_rate=eos_rate,
        download_seconds=download,
        load_seconds=load,
        warmup_seconds=warmup,
        record_limit=max(0, int(ns.emulator_record_limit)),
    )
    return config, via_flag
