"""vLLM's metric names on `/metrics` [vllm-server.md §6]: what `status` and load reports read.

Series carry the labels `model_name` and `engine`; counters end in `_total` on the wire.
"""

from __future__ import annotations

__all__ = ["KV_CACHE_USAGE", "QUEUE", "RUNNING"]

QUEUE = "vllm:num_requests_waiting"
RUNNING = "vllm:num_requests_running"
KV_CACHE_USAGE = "vllm:kv_cache_usage_perc"
"""0-1: the share of KV-cache blocks in use."""
