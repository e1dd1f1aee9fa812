"""The capacity planner: pure functions from GPU readings, model facts and engine facts to what the card holds.

Per shard (one GPU), with W the weights, P `max_batch_prefill_tokens`, k the KV bytes per token, N shards:

- TGI measures free memory after loading the weights and running a warm-up prefill of P tokens (whose KV
  blocks it allocated first), keeps `(1 - fraction) x total` back, and gives 95 % of the rest to the KV cache:
  `kv = max(0, free - overhead - W/N - P*k/N - act(P) - (1 - fraction) * total) * 0.95 + P*k/N`.
- vLLM budgets `fraction x total` for itself (and refuses to start when less is free):
  `kv = fraction * total - overhead - W/N - act(P)`.

Tokens = kv / (k/N), the server's capacity is its smallest shard's, and full-length sequences = tokens //
`max_total_tokens`. Left out (docs/doctor.md): allocator fragmentation, the exact CUDA-graph and library
workspace sizes (one `overhead` estimate), block rounding, and memory other processes take after the reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.engines.base import HardwareFacts
from orchestrator.gpu.model_facts import ModelFacts
from orchestrator.gpu.values import GpuInfo

__all__ = [
    "CapacityInputs",
    "CapacityPlan",
    "Layout",
    "ShardCapacity",
    "choose_layout",
    "plan_capacity",
    "shard_capacity",
]


@dataclass(frozen=True)
class CapacityInputs:
    """Everything the formulas need besides the GPUs, as plain values."""

    model: ModelFacts
    weights_bytes: int
    weights_source: str
    """`model facts` or `weights lock`."""
    hardware: HardwareFacts
    memory_fraction: float
    kv_dtype: str
    kv_element_bytes: int
    max_total_tokens: int
    max_batch_prefill_tokens: int
    num_shard: int
    shard_explicit: bool
    """The user set the shard count (`host.num_shard`): the layout follows it."""

    @property
    def kv_bytes_per_token(self) -> int:
        return self.model.kv_bytes_per_token(self.kv_element_bytes)


@dataclass(frozen=True)
class ShardCapacity:
    """One GPU's share: what it must hold before the KV cache, and the KV cache the engine will infer."""

    gpu_index: int
    weights_bytes: int
    overhead_bytes: int
    prefill_bytes: int
    """Warm-up prefill of P tokens: its activations plus the KV blocks allocated for it."""
    reserved_bytes: int
    """What the memory fraction keeps back (TGI) or leaves outside the budget (vLLM)."""
    kv_bytes: int
    kv_tokens: int
    warmup_fits: bool
    """Weights, overhead and the warm-up prefill fit in the memory the engine may use (else OOM at warm-up)."""
    budget_fits: bool = True
    """vLLM only: the free memory covers `fraction x total` (else it refuses to start)."""
    largest_safe_prefill: int = 0
    """The largest `max_batch_prefill_tokens` whose warm-up still fits and leaves one full sequence of KV."""

    def to_json(self) -> dict[str, Any]:
        return {
            "gpu_index": self.gpu_index,
            "weights_bytes": self.weights_bytes,
            "overhead_bytes": self.overhead_bytes,
            "prefill_bytes": self.prefill_bytes,
            "reserved_bytes": self.reserved_bytes,
            "kv_bytes": self.kv_bytes,
            "kv_tokens": self.kv_tokens,
            "warmup_fits": self.warmup_fits,
            "budget_fits": self.budget_fits,
            "largest_safe_prefill_tokens": self.largest_safe_prefill,
        }


@dataclass(frozen=True)
class Layout:
    """How to use the selected GPUs: what `up` passes, and what the planner recommends."""

    gpus: int
    num_shard: int
    """The `--num-shard` the launch plan passes."""
    replicas: int
    """Recommended servers, each with `shards_per_replica` GPUs."""
    shards_per_replica: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "gpus": self.gpus,
            "num_shard": self.num_shard,
            "recommended_replicas": self.replicas,
            "recommended_shards_per_replica": self.shards_per_replica,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CapacityPlan:
    """The planner's answer for the configured server, and per GPU for one-shard replicas."""

    inputs: CapacityInputs
    layout: Layout
    shards: tuple[ShardCapacity, ...]
    """The configured server's shards (its first `num_shard` selected GPUs)."""
    replicas: tuple[ShardCapacity, ...]
    """Each selected GPU as a one-shard replica."""

    @property
    def kv_tokens(self) -> int | None:
        """The configured server's KV-cache token capacity: its smallest shard's (None without GPUs)."""
        return min((s.kv_tokens for s in self.shards), default=None)

    @property
    def full_sequences(self) -> int | None:
        tokens = self.kv_tokens
        return None if tokens is None else tokens // max(1, self.inputs.max_total_tokens)

    def to_json(self) -> dict[str, Any]:
        i = self.inputs
        return {
            "model": i.model.model_id,
            "weights_bytes": i.weights_bytes,
            "weights_source": i.weights_source,
            "kv_cache_dtype": i.kv_dtype,
            "kv_bytes_per_token": i.kv_bytes_per_token,
            "memory_fraction": i.memory_fraction,
            "memory_fraction_flag": i.hardware.memory_fraction_flag,
            "max_total_tokens": i.max_total_tokens,
            "max_batch_prefill_tokens": i.max_batch_prefill_tokens,
            "layout": self.layout.to_json(),
            "kv_tokens": self.kv_tokens,
            "full_length_sequences": self.full_sequences,
            "shards": [s.to_json() for s in self.shards],
            "replicas": [s.to_json() for s in self.replicas],
            "replicas_kv_tokens_total": sum(s.kv_tokens for s in self.replicas),
        }


def _activation(model: ModelFacts, tokens: int, shards: int) -> int:
    """Prefill activations of `tokens` on one of `shards` shards (the MLP and QKV split, hidden-size buffers not)."""
    qkv = model.hidden + 2 * model.kv_heads * model.head_dim
    per_token = model.activation_bytes * ((3 * model.intermediate + qkv) // shards + 3 * model.hidden)
    return tokens * per_token


def shard_capacity(gpu: GpuInfo, inputs: CapacityInputs, shards: int) -> ShardCapacity:
    """The KV cache one shard of a `shards`-way server on `gpu` will infer (formulas in the module docstring)."""
    hw = inputs.hardware
    weights = inputs.weights_bytes // shards
    kv_token = max(1, inputs.kv_bytes_per_token // shards)
    prefill = inputs.max_batch_prefill_tokens
    overhead = hw.runtime_overhead_bytes

    def kv_for(prefill_tokens: int) -> tuple[int, int, int, bool, bool]:
        warm_kv = prefill_tokens * kv_token
        warm = _activation(inputs.model, prefill_tokens, shards) + warm_kv
        if hw.fraction_of_total_is_reserved:
            reserved = int((1 - inputs.memory_fraction) * gpu.memory_total)
            left = gpu.memory_free - overhead - weights - warm - reserved
            kv = int(max(0, left) * hw.kv_headroom) + warm_kv
            return kv, warm, reserved, left >= 0, True
        budget = int(inputs.memory_fraction * gpu.memory_total)
        left = budget - overhead - weights - warm + warm_kv
        return max(0, left), warm, gpu.memory_total - budget, left >= 0, gpu.memory_free >= budget

    kv, warm, reserved, fits, budget_fits = kv_for(prefill)
    return ShardCapacity(
        gpu_index=gpu.index,
        weights_bytes=weights,
        overhead_bytes=overhead,
        prefill_bytes=warm,
        reserved_bytes=reserved,
        kv_bytes=kv,
        kv_tokens=kv // kv_token,
        warmup_fits=fits,
        budget_fits=budget_fits,
        largest_safe_prefill=_largest_safe_prefill(kv_for, kv_token, inputs.max_total_tokens),
    )


def _largest_safe_prefill(kv_for: Any, kv_token: int, max_total: int) -> int:
    """Binary search: the largest prefill whose warm-up fits and leaves KV for one `max_total` sequence."""

    def safe(tokens: int) -> bool:
        kv, _warm, _reserved, fits, _budget = kv_for(tokens)
        return bool(fits) and kv // kv_token >= max(max_total, tokens)

    low, high = 0, 1 << 21
    if not safe(1):
        return 0
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if safe(mid) else (low, mid - 1)
    return low


def choose_layout(gpus: int, inputs: CapacityInputs, single: Sequence[ShardCapacity]) -> Layout:
    """N GPUs: N one-shard replicas when one GPU holds the model and a full sequence, unless told otherwise."""
    if inputs.shard_explicit or gpus <= 1:
        why = (
            "host.num_shard is set: the layout follows it"
            if inputs.shard_explicit
            else "one GPU: one server with one shard"
        )
        return Layout(gpus, inputs.num_shard, max(1, gpus // max(1, inputs.num_shard)), inputs.num_shard, why)
    if single and all(s.warmup_fits and s.kv_tokens >= inputs.max_total_tokens for s in single):
        return Layout(
            gpus,
            inputs.num_shard,
            gpus,
            1,
            f"the model ({inputs.weights_bytes / 1e9:.2f} GB of weights) and a full {inputs.max_total_tokens}-token "
            f"sequence fit on one GPU: {gpus} replicas of one shard each (data parallel) serve more than one "
            f"{gpus}-way sharded server, which pays an all-reduce per layer and gains only KV room",
        )
    return Layout(
        gpus, inputs.num_shard, 1, gpus, "one GPU cannot hold the model with a full sequence: shard it"
    )


def plan_capacity(gpus: Sequence[GpuInfo], inputs: CapacityInputs) -> CapacityPlan:
    """The plan for the selected `gpus` (the server uses the first `num_shard` of them)."""
    shards = max(1, inputs.num_shard)
    server = tuple(shard_capacity(gpu, inputs, shards) for gpu in list(gpus)[:shards])
    single = tuple(shard_capacity(gpu, inputs, 1) for gpu in gpus)
    return CapacityPlan(inputs, choose_layout(len(gpus), inputs, single), server, single)
