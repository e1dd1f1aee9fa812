"""What TGI needs of the GPU host, per version, and how it sizes its KV cache: the facts `doctor` and `plan` use.

Sources, cited per fact: `shared/reference/tgi-server.md` (section in brackets), TGI's
`server/text_generation_server/utils/import_utils.py` (`get_cuda_free_memory`) and `models/flash_causal_lm.py`
(warm-up), NVIDIA's CUDA compatibility guide for the driver rule (docs/doctor.md cites it in full).
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.engines.base import HardwareFacts, HardwareNeeds, Version
from orchestrator.engines.tgi.launcher_flags import flag_value

__all__ = ["HARDWARE", "facts_for", "image_cuda_for"]

GIB = 1 << 30

COMPUTE_RULE = (
    "Mistral runs only on flash-attention v2, which needs compute capability 8.0+ (tgi-server.md §8 Mistral); "
    "TGI's kernels (AWQ GEMM, GPTQ-Marlin from v2.2.0, flash attention) are built for sm 8.0/8.6/9.0 and a "
    "GPU below 8.0 falls back to paged attention without them (§7 GPU)"
)


def image_cuda_for(version: Version) -> tuple[int, int]:
    """The CUDA base of the image [§7 GPU]: 11.8 (v1.1; assumed up to v1.3), 12.1 (v1.4-v3.1), 12.4 (v3.2+)."""
    if version >= (3, 2, 0):
        return (12, 4)
    if version >= (1, 4, 0):
        return (12, 1)
    return (11, 8)


def facts_for(version: Version) -> HardwareFacts:
    """TGI's needs for `version`; the same compute rule for every release that serves Mistral (v1.1.0+)."""
    cuda = image_cuda_for(version)
    return HardwareFacts(
        min_compute_capability=(8, 0),
        compute_rule=COMPUTE_RULE,
        built_for=(9, 0),
        image_cuda=cuda,
        # TGI's docs list "CUDA 12.2+" for the 12.x images [§7 GPU]; minor-version compatibility covers them.
        min_driver_cuda=(12, 2) if cuda >= (12, 2) else (cuda[0], 0),
        memory_fraction_flag="--cuda-memory-fraction",
        default_memory_fraction=1.0,
        fraction_of_total_is_reserved=True,
        kv_headroom=0.95,
        runtime_overhead_bytes=1 * GIB,
        multi_shard_shm_bytes=1 * GIB,
        image_disk_bytes=10 * 10**9,
        kv_capacity_metric="tgi_batch_max_total_tokens",
    )


def kv_cache_dtype_in(args: Sequence[str]) -> str | None:
    """`--kv-cache-dtype` in extra args (v2.4.0+: `fp8_e4m3fn`, `fp8_e5m2`), else None: the model's float16."""
    return flag_value(args, ("--kv-cache-dtype",))


HARDWARE = HardwareNeeds(
    facts_for=facts_for,
    kv_cache_dtype_in_args=kv_cache_dtype_in,
    kv_dtype_bytes=(("fp8_e4m3fn", 1), ("fp8_e5m2", 1)),
)
