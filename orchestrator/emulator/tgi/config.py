"""Typed emulator configuration: parsed flags -> checked, defaulted `EmulatorConfig`.

Checks follow TGI 3.3.x's launcher (before "download": `Error: ArgumentValidation("...")`, exit 1) and the
router's start-up checks (after shard load; in TGI they make the webserver crash). Token defaults follow v3: with
no `--max-total-tokens` the shard picks min(KV capacity, max_position_embeddings=32768) and input = total - 1.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.emulator.core.faults import FaultConfig
from orchestrator.emulator.core.knobs import KnobError, fault_config, latency_profile, phase_seconds, rate
from orchestrator.emulator.core.latency import LatencyProfile

__all__ = [
    "ArgumentValidationError",
    "EmulatorConfig",
    "RouterValidationError",
    "build_config",
    "router_argument_checks",
    "router_checks",
    "warmup_checks",
]

MAX_POSITION_EMBEDDINGS = 32_768  # Mistral 7B v0.2 config.json
DEFAULT_PREFILL_TOKENS = 4096
VERSION = "3.3.6-dev0"  # v3.3.6 and v3.3.7 both carry this workspace version (reference §0)


class ArgumentValidationError(Exception):
    """A launcher argument check failed: printed as `Error: ArgumentValidation("<message>")`, exit 1."""

    def __init__(self, message: str, kind: str = "ArgumentValidation") -> None:
        super().__init__(message)
        self.kind = kind  # the LauncherError variant Rust's main prints


class RouterValidationError(Exception):
    """A router start-up check failed (after shards are up): the webserver 'crashes', exit 1."""


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the running emulator needs, with TGI's defaults resolved."""

    model_id: str
    revision: str | None
    hostname: str
    port: int
    max_concurrent_requests: int
    max_best_of: int
    max_stop_sequences: int
    max_top_n_tokens: int
    max_input_tokens: int
    max_total_tokens: int
    max_batch_prefill_tokens: int
    max_batch_total_tokens: int
    max_batch_total_tokens_given: int | None
    max_batch_size: int | None
    max_client_batch_size: int
    quantize: str | None
    trust_remote_code: bool
    cuda_graphs: tuple[int, ...]
    cuda_graphs_defaulted: bool
    validation_workers: int
    waiting_served_ratio: float
    max_waiting_tokens: int
    num_shard: int
    api_key: str | None = field(repr=False)
    payload_limit: int
    json_output: bool
    graceful_termination_timeout: float
    cors_allow_origin: tuple[str, ...]
    disable_grammar_support: bool
    profile: LatencyProfile
    eos_rate: float
    download_seconds: float
    load_seconds: float
    warmup_seconds: float
    faults: FaultConfig
    record_limit: int
    input_tokens_defaulted: bool
    total_tokens_defaulted: bool
    prefill_defaulted: bool
    hostname_invalid: bool
    raw: Mapping[str, Any] = field(repr=False)

    @property
    def compute_type(self) -> str:
        """`x-compute-type`: TGI's launcher sets COMPUTE_TYPE=<shards>-<gpu name> for the router."""
        return os.environ.get("COMPUTE_TYPE") or f"{self.num_shard}-{self.profile.gpu_name}"

    @property
    def bind_host(self) -> str:
        return "0.0.0.0" if self.hostname_invalid else self.hostname


def _visible_devices(environ: Mapping[str, str]) -> int | None:
    """TGI's num_cuda_devices(): entries of CUDA_VISIBLE_DEVICES, else NVIDIA_VISIBLE_DEVICES (no GPU here, so
    `all`/`void` count as 1)."""
    devices = environ.get("CUDA_VISIBLE_DEVICES", environ.get("NVIDIA_VISIBLE_DEVICES"))
    if devices is None:
        return None
    if devices.strip() in ("all", "void", ""):
        return 1
    return len(devices.split(","))


def _num_shards(sharded: bool | None, num_shard: int | None, environ: Mapping[str, str]) -> int:
    if sharded is True and num_shard is None:
        found = _visible_devices(environ) or 1
        if found <= 1:
            raise ArgumentValidationError(f"`sharded` is true but only found {found} CUDA devices",
                                          kind="NotEnoughCUDADevices")  # fmt: skip
        return found
    if num_shard is None and sharded is None:
        return _visible_devices(environ) or 1
    if sharded is True and num_shard is not None and num_shard <= 1:
        raise ArgumentValidationError("`sharded` is true but `num_shard` <= 1")
    shards = 1 if num_shard is None else num_shard
    if shards < 1:
        raise ArgumentValidationError("`num_shard` cannot be < 1")
    return shards


def _launcher_checks(v: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """TGI 3.3.x launcher checks, in its order. Returns (max_input_tokens, max_total_tokens) as given."""
    max_input, legacy = v["max_input_tokens"], v["max_input_length"]
    if max_input is not None and legacy is not None:
        raise ArgumentValidationError(
            f"Both `max_input_tokens` ({max_input}) and `max_input_length` ({legacy}) are set. Please define only "
            "`max_input_tokens` as `max_input_length is deprecated for naming consistency."
        )
    max_input = max_input if max_input is not None else legacy
    max_total = v["max_total_tokens"]
    if max_input is not None and max_total is not None and max_input >= max_total:
        raise ArgumentValidationError(
            f"`max_input_tokens`({max_input}) must be < `max_total_tokens`({max_total})"
        )
    if v["validation_workers"] == 0:
        raise ArgumentValidationError("`validation_workers` must be > 0")
    batch_total = v["max_batch_total_tokens"]
    if batch_total is not None and max_total is not None and max_total > batch_total:
        raise ArgumentValidationError(
            f"`max_total_tokens` must be <= `max_batch_total_tokens`. Given: {max_total} and {batch_total}"
        )
    if v["ngrok"] and not v["ngrok_authtoken"]:
        raise ArgumentValidationError("`ngrok-authtoken` must be set when using ngrok tunneling")
    if v["ngrok"] and not v["ngrok_edge"]:
        raise ArgumentValidationError("`ngrok-edge` must be set when using ngrok tunneling")
    return max_input, max_total


def router_argument_checks(cfg: EmulatorConfig) -> None:
    """The router's own argument check before it warms the model up (v3 `main.rs`)."""
    if cfg.max_batch_size == 0:
        raise RouterValidationError('ArgumentValidation("`max_batch_size` must be > 0")')


def warmup_checks(cfg: EmulatorConfig) -> None:
    """The check right after warm-up (v3 `connect_backend`): the KV cache must hold one full request. The message
    is the Debug form of the router's error, which is all TGI prints of it."""
    if cfg.max_total_tokens > cfg.max_batch_total_tokens:
        raise RouterValidationError(f"Backend(NotEnoughMemory({cfg.max_total_tokens}))")


def router_checks(cfg: EmulatorConfig) -> None:
    """The router's checks once the backend is known (v3 `main.rs`), in its order."""
    if cfg.max_input_tokens >= cfg.max_total_tokens:
        raise RouterValidationError('ArgumentValidation("`max_input_tokens` must be < `max_total_tokens`")')
    if cfg.max_batch_prefill_tokens > cfg.max_batch_total_tokens:
        raise RouterValidationError(
            'ArgumentValidation("`max_batch_prefill_tokens` must be <= `max_batch_total_tokens`. '
            f'Given: {cfg.max_batch_prefill_tokens} and {cfg.max_batch_total_tokens}")'
        )


def _knobs(values: Mapping[str, Any]) -> tuple[LatencyProfile, FaultConfig, float]:
    """The core's profile, fault plan and EOS rate from the `--emulator-*` knobs, bad values as launcher errors."""
    try:
        return latency_profile(values), fault_config(values), rate(values, "emulator_eos_rate")
    except KnobError as exc:
        raise ArgumentValidationError(str(exc)) from None


_NO_CUDA_GRAPHS = ("bitsandbytes", "exl2")  # the launcher turns graphs off for these unless they are given
DEFAULT_CUDA_GRAPHS = (1, 2, 4, 8, 16, 32)


def _cuda_graphs(given: list[int] | None, quantize: str | None) -> tuple[int, ...]:
    """The launcher's batch sizes for CUDA graphs: the given ones above 0, none for bitsandbytes/exl2, else
    its default list."""
    if given is not None:
        return tuple(size for size in given if size > 0)
    return () if quantize in _NO_CUDA_GRAPHS else DEFAULT_CUDA_GRAPHS


def build_config(values: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> EmulatorConfig:
    """Resolve defaults and run the launcher's checks; raises ArgumentValidationError."""
    max_input, max_total = _launcher_checks(values)
    num_shard = _num_shards(
        values["sharded"], values["num_shard"], os.environ if environ is None else environ
    )
    profile, faults, eos_rate = _knobs(values)
    kv_capacity = values["emulator_kv_cache_tokens"]
    if kv_capacity is None:
        kv_capacity = profile.kv_capacity_tokens(float(values["cuda_memory_fraction"]))
    batch_total = kv_capacity  # flash-attention models: warm-up infers it; a given value is only warned about
    total_defaulted = max_total is None
    if max_total is None:
        max_total = min(kv_capacity, MAX_POSITION_EMBEDDINGS)
        if max_input is not None and max_input >= max_total:
            max_total = max_input + 1
    input_defaulted = max_input is None
    if max_input is None:
        max_input = max_total - 1
    prefill = values["max_batch_prefill_tokens"]
    prefill_defaulted = prefill is None
    if prefill is None:
        prefill = min(DEFAULT_PREFILL_TOKENS, MAX_POSITION_EMBEDDINGS)
    hostname = str(values["hostname"])
    try:
        ipaddress.ip_address(hostname)
        hostname_invalid = False
    except ValueError:
        hostname_invalid = True
    download, load, warmup = phase_seconds(values)
    return EmulatorConfig(
        model_id=str(values["model_id"]),
        revision=values["revision"],
        hostname=hostname,
        port=int(values["port"]),
        max_concurrent_requests=int(values["max_concurrent_requests"]),
        max_best_of=int(values["max_best_of"]),
        max_stop_sequences=int(values["max_stop_sequences"]),
        max_top_n_tokens=int(values["max_top_n_tokens"]),
        max_input_tokens=int(max_input),
        max_total_tokens=int(max_total),
        max_batch_prefill_tokens=int(prefill),
        max_batch_total_tokens=int(batch_total),
        max_batch_total_tokens_given=values["max_batch_total_tokens"],
        max_batch_size=values["max_batch_size"],
        max_client_batch_size=int(values["max_client_batch_size"]),
        quantize=values["quantize"],
        trust_remote_code=bool(values["trust_remote_code"]),
        cuda_graphs=_cuda_graphs(values["cuda_graphs"], values["quantize"]),
        cuda_graphs_defaulted=values["cuda_graphs"] is None and values["quantize"] not in _NO_CUDA_GRAPHS,
        validation_workers=int(values["validation_workers"]),
        waiting_served_ratio=float(values["waiting_served_ratio"]),
        max_waiting_tokens=int(values["max_waiting_tokens"]),
        num_shard=num_shard,
        api_key=values["api_key"] or None,
        payload_limit=int(values["payload_limit"]),
        json_output=bool(values["json_output"]),
        graceful_termination_timeout=float(values["graceful_termination_timeout"]),
        cors_allow_origin=tuple(values["cors_allow_origin"] or ()),
        disable_grammar_support=bool(values["disable_grammar_support"]),
        profile=profile,
        eos_rate=eos_rate,
        download_seconds=download,
        load_seconds=load,
        warmup_seconds=warmup,
        faults=faults,
        record_limit=max(0, int(values["emulator_record_limit"])),
        input_tokens_defaulted=input_defaulted,
        total_tokens_defaulted=total_defaulted,
        prefill_defaulted=prefill_defaulted,
        hostname_invalid=hostname_invalid,
        raw=dict(values),
    )
