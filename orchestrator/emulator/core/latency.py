"""Latency profiles: how long a prefill and a decode step take on an emulated GPU serving Mistral 7B AWQ.

The model is deliberately simple and physical:

* prefill(n prompt tokens in the batch) = prefill_base + n x prefill_per_token
* decode step(b running sequences, k KV tokens) = decode_base + (b - 1) x decode_per_seq + k x 128 KiB / bandwidth

Where the figures come from (see also `/work/shared/reference/model-facts.md`):

* Floors: a decode step must stream the 4.15 GB of AWQ weights once: 2.0 ms on an A100 (2.04 TB/s), 1.24 ms on an
  H100 (3.35 TB/s), 6.9 ms on an A10G (0.60 TB/s), 13.8 ms on an L4 (0.30 TB/s). Every KV token read adds
  131,072 bytes / bandwidth. Prefill costs ~14.5 GFLOP per prompt token (2 x 7.24 B parameters).
* Measured engines sit well above those floors (kernel launches, attention, sampling, scheduling). Published points:
  Baseten / Artificial Analysis report Mistral 7B at ~130 ms time to first token and ~170 tokens/s per stream on
  H100-class dedicated deployments (https://baseten.com/blog/benchmarking-fast-mistral-7b-inference); capacity
  guides put a 4-bit Mistral 7B on an A100 80GB near 117 tokens/s for one stream
  (https://www.nelsahost.com/compatibility/can-i-run-mistral-7b-on-a100-80gb-q4_k_m); Marlin-style W4A16 kernels
  (which TGI >= 2.2 uses for AWQ on sm >= 8.0) reach ~3.8x the fp16 decode speed, i.e. not the full 4x of the byte
  ratio (https://fridayswithfaraday.com/posts/quantization-masterclass-w4a16-marlin-kernel).
* We therefore set decode_base at roughly 3-5x the weight-streaming floor (9 ms on A100 = ~111 tokens/s, 6.5 ms on
  H100 = ~154 tokens/s, below Baseten's tuned 170) and prefill at ~35 % of dense fp16 tensor-core peak (A100 312,
  H100 ~790 measured, A10G 125, L4 121 TFLOP/s; the peaks TGI's own launcher uses to size prefill batches).

`instant` has no delay at all (capacity tests). Flags `--emulator-*-ms` override single parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["KV_BYTES_PER_TOKEN", "PROFILES", "LatencyProfile", "get_profile"]

KV_BYTES_PER_TOKEN = 131_072  # 2 x 32 layers x 8 KV heads x 128 dims x 2 bytes (fp16)
AWQ_WEIGHT_BYTES = 4.15e9
RUNTIME_OVERHEAD_BYTES = 1.5e9  # CUDA context, activations, graphs: not available for the KV cache


@dataclass(frozen=True)
class LatencyProfile:
    """Timing of one emulated GPU. Times in seconds; `memory_bytes` sizes the KV cache (max batch total tokens)."""

    name: str
    prefill_base: float
    prefill_per_token: float
    decode_base: float
    decode_per_seq: float
    bandwidth: float  # bytes/s, for the KV-read term
    memory_bytes: float
    gpu_name: str  # as `nvidia-smi` spells it, lower-cased with dashes (TGI's x-compute-type suffix)

    @property
    def instant(self) -> bool:
        return self.prefill_base == 0 and self.prefill_per_token == 0 and self.decode_base == 0

    def prefill_seconds(self, prompt_tokens: int) -> float:
        """Time of one prefill forward pass over `prompt_tokens` prompt tokens (all requests of the batch)."""
        if self.instant:
            return 0.0
        return self.prefill_base + prompt_tokens * self.prefill_per_token

    def decode_seconds(self, batch_size: int, kv_tokens: int) -> float:
        """Time of one decode step producing one token for each of `batch_size` sequences."""
        if self.instant or batch_size <= 0:
            return 0.0
        kv_read = kv_tokens * KV_BYTES_PER_TOKEN / self.bandwidth if self.bandwidth else 0.0
        return self.decode_base + (batch_size - 1) * self.decode_per_seq + kv_read

    def kv_capacity_tokens(self, memory_fraction: float = 1.0, headroom: float = 0.95) -> int:
        """Tokens the KV cache holds: (memory x fraction x headroom - weights - overhead) / 128 KiB. The
        default headroom is TGI's 0.95 wiggle room; vLLM's utilisation is the whole budget (headroom 1)."""
        free = self.memory_bytes * memory_fraction * headroom - AWQ_WEIGHT_BYTES - RUNTIME_OVERHEAD_BYTES
        tokens = int(max(free, 0) // KV_BYTES_PER_TOKEN)
        return tokens - tokens % 16  # whole KV blocks (block size 16)

    def with_overrides(
        self,
        *,
        prefill_base_ms: float | None = None,
        prefill_per_token_ms: float | None = None,
        decode_base_ms: float | None = None,
        decode_per_seq_ms: float | None = None,
    ) -> LatencyProfile:
        changes: dict[str, float] = {}
        for field, value in (
            ("prefill_base", prefill_base_ms),
            ("prefill_per_token", prefill_per_token_ms),
            ("decode_base", decode_base_ms),
            ("decode_per_seq", decode_per_seq_ms),
        ):
            if value is not None:
                changes[field] = value / 1000.0
        return replace(self, **changes) if changes else self  # type: ignore[arg-type]


_GB = 1e9
PROFILES: dict[str, LatencyProfile] = {
    "instant": LatencyProfile("instant", 0.0, 0.0, 0.0, 0.0, 0.0, 80 * _GB, "nvidia-a100-sxm4-80gb"),
    # A100 SXM 80 GB: floor 2.0 ms/step; prefill 14.5 GFLOP/token at 35 % of 312 TFLOP/s = 0.133 ms/token.
    "a100-awq": LatencyProfile("a100-awq", 0.012, 0.000133, 0.009, 0.00012, 2.04e12, 80 * _GB,
                               "nvidia-a100-sxm4-80gb"),
    # H100 SXM 80 GB: floor 1.24 ms/step; prefill at 35 % of ~790 TFLOP/s = 0.052 ms/token.
    "h100-awq": LatencyProfile("h100-awq", 0.008, 0.000052, 0.0065, 0.00008, 3.35e12, 80 * _GB,
                               "nvidia-h100-80gb-hbm3"),
    # A10G 24 GB: floor 6.9 ms/step; prefill at 35 % of 125 TFLOP/s = 0.33 ms/token.
    "a10g-awq": LatencyProfile("a10g-awq", 0.020, 0.00033, 0.016, 0.00035, 0.60e12, 24 * _GB, "nvidia-a10g"),
    # L4 24 GB: floor 13.8 ms/step; prefill at 35 % of 121 TFLOP/s = 0.34 ms/token.
    "l4-awq": LatencyProfile("l4-awq", 0.025, 0.00034, 0.028, 0.0005, 0.30e12, 24 * _GB, "nvidia-l4"),
}  # fmt: skip


def get_profile(name: str) -> LatencyProfile:
    """The named profile; raises KeyError naming the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown emulator profile {name!r}; known: {', '.join(PROFILES)}") from None
