"""TGI's metric series: the token-count buckets of its router and the names the batching loop writes.

Duration histograms keep the registry's default buckets; token-count histograms use 20 linear buckets up to the
token limits, as TGI's router sets them. The pipeline's request series (`tgi_request_*`) are written by `service.py`.
"""

from __future__ import annotations

from orchestrator.emulator.core.engine import StepKind
from orchestrator.emulator.core.generation import Generation
from orchestrator.emulator.core.metrics import Metrics
from orchestrator.engines.tgi import ENGINE

__all__ = ["SchedulerMetrics", "tgi_metrics"]


def tgi_metrics(max_input_tokens: int, max_total_tokens: int, max_batch_size: int | None) -> Metrics:
    """A registry with TGI's buckets for the token-count histograms."""
    return Metrics({
        "tgi_request_input_length": tuple(max_input_tokens / 20 * (i + 1) for i in range(20)),
        "tgi_request_max_new_tokens": tuple(max_total_tokens / 20 * (i + 1) for i in range(20)),
        "tgi_request_generated_tokens": tuple(max_total_tokens / 20 * (i + 1) for i in range(20)),
        "tgi_batch_next_size": tuple(float(i + 1) for i in range(max_batch_size or 1024)),
        "tgi_request_skipped_tokens": (0.0, 1.0, 2.0, 3.0, 4.0),
    })  # fmt: skip


class SchedulerMetrics:
    """The batching loop's reports as TGI's series (a `SchedulerObserver`). The queue and batch gauges are the
    ones `orchestrator status` reads, so their names come from the TGI engine facts."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def queued(self, waiting: int) -> None:
        self.metrics.set(ENGINE.status_metrics.queue, waiting)

    def sizes(self, waiting: int, running: int, reserved_tokens: int) -> None:
        metrics = self.metrics
        metrics.set(ENGINE.status_metrics.queue, waiting)
        metrics.set(ENGINE.status_metrics.running, running)
        metrics.set("tgi_batch_current_max_tokens", reserved_tokens)

    def admitted(self, admitted: list[Generation], *, concat: bool) -> None:
        metrics = self.metrics
        if concat:
            metrics.inc("tgi_batch_concat", labels=(("reason", "backpressure"),))
        metrics.observe("tgi_batch_next_size", len(admitted))
        for generation in admitted:
            metrics.observe("tgi_request_queue_duration", generation.queue_seconds)

    def step(self, kind: StepKind, seconds: float) -> None:
        metrics, labels = self.metrics, (("method", kind),)
        metrics.inc("tgi_batch_inference_count", labels=labels)
        metrics.inc("tgi_batch_inference_success", labels=labels)
        metrics.observe("tgi_batch_inference_duration", seconds, labels)
        metrics.observe("tgi_batch_forward_duration", seconds, labels)
