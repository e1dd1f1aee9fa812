"""What vLLM needs of the GPU host and how it sizes its KV cache: the facts `doctor` and `plan` use.

Sources: `shared/reference/vllm-server.md` (section in brackets). Where the reference leaves a fact open (the
0.33.0 image's CUDA base was not read [§0]), the fact is None and the doctor says it cannot check it.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.engines.base import HardwareFacts, HardwareNeeds, Version
from orchestrator.engines.vllm.diagnosis import DEFAULT_GPU_MEMORY_UTILIZATION
from orchestrator.engines.vllm.flags import flag_name

__all__ = ["HARDWARE", "facts_for"]

GIB = 1 << 30

COMPUTE_RULE = (
    "vLLM's CUDA build needs compute capability 7.5+ (vllm-server.md §1 GPU), and its AWQ method (auto_awq, "
    "Marlin when the layer fits) states a minimum capability of 75 (§1 AWQ and compute capability)"
)


def facts_for(version: Version) -> HardwareFacts:
    """vLLM's needs; the default memory utilisation was 0.9 before it became 0.92 [§2]."""
    return HardwareFacts(
        min_compute_capability=(7, 5),
        compute_rule=COMPUTE_RULE,
        built_for=None,
        image_cuda=None,  # the 0.33.0 image's CUDA base is not established [§0]
        min_driver_cuda=None,
        memory_fraction_flag="--gpu-memory-utilization",
        default_memory_fraction=DEFAULT_GPU_MEMORY_UTILIZATION if version >= (0, 21, 0) else 0.9,
        fraction_of_total_is_reserved=False,  # its budget is fraction x total, and that much must be free [§4]
        kv_headroom=1.0,
        # CUDA context, workspaces and CUDA graphs (profiled inside the budget since v0.21.0 [§2]): an estimate
        runtime_overhead_bytes=2 * GIB,
        multi_shard_shm_bytes=1 * GIB,
        image_disk_bytes=20 * 10**9,
        kv_capacity_metric=None,
    )


def _flag(args: Sequence[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if flag_name(arg) == name:
            if "=" in arg:
                return arg.split("=", 1)[1]
            return args[index + 1] if index + 1 < len(args) else None
    return None


def kv_cache_dtype_in(args: Sequence[str]) -> str | None:
    """`--kv-cache-dtype` in extra args (`fp8`, `fp8_e4m3`, `fp8_e5m2` [§2]); `auto` and unset: the model's."""
    value = _flag(args, "--kv-cache-dtype")
    return None if value in (None, "auto") else value


def memory_fraction_in(args: Sequence[str]) -> float | None:
    """`--gpu-memory-utilization` is owned by `limits.gpu_memory_fraction`, so extra args never set it."""
    return None


HARDWARE = HardwareNeeds(
    facts_for=facts_for,
    memory_fraction_in_args=memory_fraction_in,
    kv_cache_dtype_in_args=kv_cache_dtype_in,
    kv_dtype_bytes=(("fp8", 1), ("fp8_e4m3", 1), ("fp8_e5m2", 1), ("float16", 2), ("bfloat16", 2)),
)
