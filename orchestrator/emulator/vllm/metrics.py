"""vLLM's `vllm:` series [vllm-server.md §6] with true values, fed by the scheduler and the request pipeline.

Labels `model_name` (first served name) and `engine="0"`; counters end in `_total` as prometheus_client writes
them; histogram buckets are vLLM's. The queue, running and KV-usage gauge names are the engine record's
(`engines/vllm/metrics.py`), which `orchestrator status` reads.
"""

from __future__ import annotations

from orchestrator.emulator.core.engine import StepKind
from orchestrator.emulator.core.generation import Generation
from orchestrator.emulator.core.metrics import Metrics
from orchestrator.engines.vllm.metrics import STATUS

__all__ = ["SchedulerMetrics", "vllm_metrics"]

TTFT = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
        80.0, 160.0, 640.0, 2560.0)  # fmt: skip
ITL = (
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
)
REQUEST = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
           960.0, 1920.0, 7680.0)  # fmt: skip
_REQUEST_SERIES = ("e2e_request_latency", "request_queue_time", "request_inference_time", "request_prefill_time",
                   "request_decode_time")  # fmt: skip
_TOKEN_SERIES = ("request_prompt_tokens", "request_generation_tokens", "request_max_num_generation_tokens",
                 "request_params_max_tokens")  # fmt: skip


def _one_two_five(limit: int) -> tuple[float, ...]:
    """1, 2, 5, 10, 20, 50, ... up to `limit` (vLLM's `build_1_2_5_buckets`)."""
    out: list[float] = []
    exponent = 0
    while True:
        for mantissa in (1, 2, 5):
            value = mantissa * 10**exponent
            if value > limit:
                return tuple(out)
            out.append(float(value))
        exponent += 1


def vllm_metrics(max_model_len: int, max_num_batched_tokens: int) -> Metrics:
    """A registry with vLLM's buckets, rendered as prometheus_client renders (`_total` counters)."""
    buckets: dict[str, tuple[float, ...]] = {
        "vllm:time_to_first_token_seconds": TTFT,
        "vllm:inter_token_latency_seconds": ITL,
        "vllm:request_time_per_output_token_seconds": ITL,
        "vllm:iteration_tokens_total": tuple(float(2**i) for i in range(15) if 2**i <= max_num_batched_tokens)
        or (1.0,),
        "vllm:request_params_n": (1.0, 2.0, 5.0, 10.0, 20.0),
    }
    for name in _REQUEST_SERIES:
        buckets[f"vllm:{name}_seconds"] = REQUEST
    for name in _TOKEN_SERIES:
        buckets[f"vllm:{name}"] = _one_two_five(max_model_len)
    return Metrics(buckets, counter_suffix="_total")


class SchedulerMetrics:
    """The batching loop's reports as vLLM's gauges and iteration histogram (a `SchedulerObserver`)."""

    def __init__(self, metrics: Metrics, labels: tuple[tuple[str, str], ...], kv_capacity: int) -> None:
        self.metrics = metrics
        self.labels = labels
        self.kv_capacity = max(kv_capacity, 1)
        self.running = 0

    def queued(self, waiting: int) -> None:
        self.metrics.set(STATUS.queue, waiting, self.labels)

    def sizes(self, waiting: int, running: int, reserved_tokens: int) -> None:
        metrics, labels = self.metrics, self.labels
        self.running = running
        metrics.set(STATUS.queue, waiting, labels)
        metrics.set(STATUS.running, running, labels)
        metrics.set(STATUS.kv_cache_usage or "vllm:kv_cache_usage_perc", reserved_tokens / self.kv_capacity,
                    labels)  # fmt: skip

    def admitted(self, admitted: list[Generation], *, concat: bool) -> None:
        tokens = sum(g.input_length for g in admitted) + (self.running if concat else 0)
        self.metrics.observe("vllm:iteration_tokens_total", tokens, self.labels)
        for generation in admitted:
            self.metrics.observe("vllm:request_queue_time_seconds", generation.queue_seconds, self.labels)

    def step(self, kind: StepKind, seconds: float) -> None:
        if kind == "decode":
            self.metrics.observe("vllm:iteration_tokens_total", self.running, self.labels)
