"""vLLM's metric names on `/metrics` [vllm-server.md §6]: what `status` and load reports read.

Series carry the labels `model_name` and `engine`; counters end in `_total` on the wire (prometheus_client), so
the names here are the wire names. vLLM has no failure counter: every finished request counts once in
`vllm:request_success_total{finished_reason}`, and the reasons `abort` and `error` are the failed ones.
"""

from __future__ import annotations

from orchestrator.engines.base import ServerMetrics, StatusMetrics

__all__ = ["FAILED_REASONS", "FINISHED", "SERVER", "STATUS"]

STATUS = StatusMetrics(
    queue="vllm:num_requests_waiting",
    running="vllm:num_requests_running",
    kv_cache_usage="vllm:kv_cache_usage_perc",
)

FINISHED = "vllm:request_success_total"
"""Finished requests, one series per `finished_reason` (stop, length, abort, error, repetition)."""
FAILED_REASONS = frozenset({"abort", "error"})

SERVER = ServerMetrics(
    histograms={
        "vllm:e2e_request_latency_seconds": "e2e inside the server",
        "vllm:request_queue_time_seconds": "waiting in the queue",
        "vllm:request_inference_time_seconds": "prefill + decode",
        "vllm:time_to_first_token_seconds": "time to first token",
        "vllm:inter_token_latency_seconds": "time between generated tokens",
        "vllm:request_time_per_output_token_seconds": "mean time per generated token",
        "vllm:request_generation_tokens": "generated tokens per request",
        "vllm:request_prompt_tokens": "input tokens per request",
    },
    e2e="vllm:e2e_request_latency_seconds",
    queue="vllm:request_queue_time_seconds",
    inference="vllm:request_inference_time_seconds",
    time_per_token="vllm:request_time_per_output_token_seconds",
    failures=FINISHED,
    failure_label="finished_reason",
    failure_values=FAILED_REASONS,
    request_counters=(FINISHED, "vllm:prompt_tokens_total", "vllm:generation_tokens_total"),
    ttft="vllm:time_to_first_token_seconds",
    inter_token="vllm:inter_token_latency_seconds",
)
