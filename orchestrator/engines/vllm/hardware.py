"""What vLLM needs of the GPU host, per version, and how it sizes its KV cache: the facts `doctor` and `plan` use.

Sources (`shared/reference/vllm-server.md`, section in brackets): the AWQ capability rules [§1], the memory flag
and its semantics [§2 `--gpu-memory-utilization`, §4 "not enough free VRAM at start"], shared memory [§1 shm].
Not established there, so left unknown (the doctor says "not checked"): the CUDA version the images are built
with and the newest architecture their kernels cover.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.engines.base import HardwareFacts, HardwareNeeds, Version
from orchestrator.engines.vllm.flags import flag_name
from orchestrator.engines.vllm.versions import AUTO_AWQ_SINCE

__all__ = ["HARDWARE", "facts_for"]

GIB = 1 << 30

AUTO_AWQ_RULE = (
    "vLLM maps awq, awq_marlin and auto_awq to AutoAWQConfig, whose minimum compute capability is 7.5, and uses "
    "Marlin kernels from 7.5 (vllm-server.md §1; the docs: compute capability 7.5 or higher)"
)
AWQ_MARLIN_RULE = (
    "before 0.20 the launch passes --quantization awq_marlin (the plain awq kernel is slow), whose minimum "
    "compute capability is 8.0 (AWQMarlinConfig; plain awq needs 7.5) (vllm-server.md §1)"
)


def facts_for(version: Version) -> HardwareFacts:
    """vLLM's needs for `version`: 7.5+ with AutoAWQ (0.20+), 8.0+ where the launch asks for awq_marlin."""
    auto = version >= AUTO_AWQ_SINCE
    return HardwareFacts(
        min_compute_capability=(7, 5) if auto else (8, 0),
        compute_rule=AUTO_AWQ_RULE if auto else AWQ_MARLIN_RULE,
        built_for=None,
        image_cuda=None,
        min_driver_cuda=None,
        memory_fraction_flag="--gpu-memory-utilization",
        default_memory_fraction=0.92,
        fraction_of_total_is_reserved=False,
        kv_headroom=1.0,
        # CUDA graphs are profiled inside the budget since v0.21.0 [§2]: a larger fixed share than TGI's.
        runtime_overhead_bytes=GIB + GIB // 2,
        multi_shard_shm_bytes=1 * GIB,
        image_disk_bytes=10 * 10**9,
        kv_capacity_metric=None,
    )


def _value(args: Sequence[str], names: tuple[str, ...]) -> str | None:
    found: str | None = None
    for index, arg in enumerate(args):
        if arg.startswith("-") and flag_name(arg) in names:
            found = arg.split("=", 1)[1] if "=" in arg else (args[index + 1] if index + 1 < len(args) else "")
    return found


def kv_cache_dtype_in(args: Sequence[str]) -> str | None:
    """`--kv-cache-dtype` in extra args (`auto` is the model's dtype), else None."""
    text = _value(args, ("--kv-cache-dtype",))
    return None if text in (None, "auto") else text


HARDWARE = HardwareNeeds(
    facts_for=facts_for,
    kv_cache_dtype_in_args=kv_cache_dtype_in,
    kv_dtype_bytes=(
        ("float16", 2),
        ("bfloat16", 2),
        ("fp8", 1),
        ("fp8_e4m3", 1),
        ("fp8_e5m2", 1),
    ),
)
