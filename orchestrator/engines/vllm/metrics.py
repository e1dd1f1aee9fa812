"""vLLM's metric names on `/metrics` [vllm-server.md §6]: what `status` and load reports read.

Series carry the labels `model_name` and `engine`; counters end in `_total` on the wire.
"""

from __future__ import annotations

from orchestrator.engines.base import ServerMetrics, StatusMetrics

__all__ = ["SERVER", "STATUS"]

STATUS = StatusMetrics(
    queue="vllm:num_requests_waiting",
    running="vllm:num_requests_running",
    kv_cache_usage="vllm:kv_cache_usage_perc",
)

SERVER = ServerMetrics(
    histograms={
        "vllm:e2e_request_latency_seconds": "e2e inside the server",
        "vllm:request_queue_time_seconds": "waiting in the queue",
        "vllm:request_inference_time_seconds": "prefill + decode",
        "vllm:request_time_per_output_token_seconds": "mean time per generated token",
        "vllm:request_generation_tokens": "generated tokens per request",
        "vllm:request_prompt_tokens": "input tokens per request",
    },
    e2e="vllm:e2e_request_latency_seconds",
    queue="vllm:request_queue_time_seconds",
    inference="vllm:request_inference_time_seconds",
    time_per_token="vllm:request_time_per_output_token_seconds",
    failures="vllm:request_success_total",
    failure_label="finished_reason",
    request_counters=(
        "vllm:request_success_total",
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
    ),
)
"""Minimal stand-in so the engine record builds; the vllm-client branch owns the full record (take theirs)."""
