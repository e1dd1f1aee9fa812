"""TGI's metric names on `/metrics` [tgi-server.md §6]: what `status` and load reports read."""

from __future__ import annotations

from orchestrator.engines.base import ServerMetrics, StatusMetrics

__all__ = ["SERVER", "STATUS"]

STATUS = StatusMetrics(queue="tgi_queue_size", running="tgi_batch_current_size")

SERVER = ServerMetrics(
    histograms={
        "tgi_request_duration": "e2e inside the server",
        "tgi_request_queue_duration": "waiting in the queue",
        "tgi_request_inference_duration": "prefill + decode",
        "tgi_request_validation_duration": "validation and tokenization",
        "tgi_request_mean_time_per_token_duration": "mean time per generated token",
        "tgi_request_generated_tokens": "generated tokens per request",
        "tgi_request_input_length": "input tokens per request",
    },
    e2e="tgi_request_duration",
    queue="tgi_request_queue_duration",
    inference="tgi_request_inference_duration",
    time_per_token="tgi_request_mean_time_per_token_duration",
    failures="tgi_request_failure",
    failure_label="err",
    request_counters=("tgi_request_count", "tgi_request_success"),
)
