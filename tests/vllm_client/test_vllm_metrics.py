"""vLLM's server metrics record: the names of vllm-server.md §6, and failures read from finished reasons."""

from __future__ import annotations

import re

from orchestrator.engines.tgi.metrics import SERVER as TGI_SERVER
from orchestrator.engines.vllm.metrics import SERVER


def test_every_histogram_is_a_vllm_histogram_of_the_reference() -> None:
    names = [*SERVER.histograms, SERVER.e2e, SERVER.queue, SERVER.inference, SERVER.time_per_token]
    names += [n for n in (SERVER.ttft, SERVER.inter_token) if n]
    assert all(re.fullmatch(r"vllm:[a-z0-9_]+", n) for n in names)
    assert {SERVER.e2e, SERVER.queue, SERVER.inference, SERVER.time_per_token} <= set(SERVER.histograms)
    assert SERVER.ttft in SERVER.histograms and SERVER.inter_token in SERVER.histograms
    assert set(SERVER.histograms) == {
        "vllm:e2e_request_latency_seconds",
        "vllm:request_queue_time_seconds",
        "vllm:request_inference_time_seconds",
        "vllm:request_time_per_output_token_seconds",
        "vllm:time_to_first_token_seconds",
        "vllm:inter_token_latency_seconds",
        "vllm:request_prompt_tokens",
        "vllm:request_generation_tokens",
    }


def test_failures_are_the_abort_and_error_reasons_of_the_finished_counter() -> None:
    assert SERVER.failures == "vllm:request_success_total"
    assert SERVER.failure_label == "finished_reason"
    assert SERVER.is_failure("abort") and SERVER.is_failure("error")
    assert not SERVER.is_failure("stop") and not SERVER.is_failure("length")


def test_tgi_counts_every_failure_series_as_before() -> None:
    assert TGI_SERVER.failure_values is None
    assert TGI_SERVER.is_failure("overloaded") and TGI_SERVER.is_failure("validation")
    assert TGI_SERVER.ttft is None and TGI_SERVER.inter_token is None
