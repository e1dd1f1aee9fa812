"""`vllm:` metrics carry true values: token counters, request outcomes, histograms and the status gauges."""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.engines.vllm.metrics import STATUS
from orchestrator.formats.prometheus import parse_prometheus, value
from orchestrator.tokens import get_tokenizer
from tests.emulator.helpers import get, post
from tests.fixtures.emulator import EmulatorProcess

Factory = Callable[..., EmulatorProcess]


def test_metrics_count_what_was_served(vllm_emulator_factory: Factory) -> None:
    server = vllm_emulator_factory("--served-model-name", "m")
    before = parse_prometheus(get(server.url, "/metrics").text)
    for name in (STATUS.queue, STATUS.running, STATUS.kv_cache_usage):
        assert (name, (("engine", "0"), ("model_name", "m"))) in before
    prompts = ["Hello there", "How are you today"]
    for prompt in prompts:
        assert post(server.url, "/v1/completions", {"prompt": prompt, "max_tokens": 5}).status == 200
    post(server.url, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3,
                                              "stream": True})  # fmt: skip
    reply = get(server.url, "/metrics")
    assert reply.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    series = parse_prometheus(reply.text)
    prompt_tokens = sum(get_tokenizer().count(p) for p in prompts) + get_tokenizer().count(
        "<s>[INST] hi [/INST]", add_bos=False
    )
    assert value(series, "vllm:prompt_tokens_total", model_name="m") == prompt_tokens
    assert value(series, "vllm:generation_tokens_total", model_name="m") == 13
    assert value(series, "vllm:request_success_total", finished_reason="length") == 3
    assert value(series, "vllm:e2e_request_latency_seconds_count") == 3
    assert value(series, "vllm:time_to_first_token_seconds_count") == 3
    assert value(series, "vllm:inter_token_latency_seconds_count") == 4 + 4 + 2
    assert value(series, "vllm:request_generation_tokens_sum") == 13
    assert value(series, STATUS.running) == 0 and value(series, STATUS.queue) == 0
    assert "# TYPE vllm:prompt_tokens counter" in reply.text
    assert 'vllm:time_to_first_token_seconds_bucket{model_name="m",engine="0",le="0.001"}' in reply.text


def test_the_periodic_engine_line_reports_throughput(vllm_emulator_factory: Factory) -> None:
    import time

    server = vllm_emulator_factory(env={"EMULATOR_VLLM_STATS_SECONDS": "0.5"})
    assert post(server.url, "/v1/completions", {"prompt": "Hello", "max_tokens": 5}).status == 200
    deadline = time.monotonic() + 10
    while "Engine 000: Avg prompt throughput:" not in server.logs():
        assert time.monotonic() < deadline, server.logs()
        time.sleep(0.1)
    line = next(x for x in server.logs().splitlines() if "Engine 000:" in x)
    assert "Avg generation throughput: 10.0 tokens/s" in line and "Running: 0 reqs, Waiting: 0 reqs" in line
