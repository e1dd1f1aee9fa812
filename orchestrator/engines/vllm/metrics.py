"""vLLM's metric names on `/metrics` [vllm-server.md §6]: what `status` and load reports read.

Series carry the labels `model_name` and `engine`; counters end in `_total` on the wire.
"""

from __future__ import annotations

from orchestrator.engines.base import StatusMetrics

__all__ = ["STATUS"]

STATUS = StatusMetrics(
    queue="vllm:num_requests_waiting",
    running="vllm:num_requests_running",
    kv_cache_usage="vllm:kv_cache_usage_perc",
)
