"""The GPU latency profile is reproduced on the wire, and continuous batching behaves like TGI's scheduler."""

from __future__ import annotations

import itertools
import json
import socket
import statistics
import threading
import time
from collections.abc import Callable

from orchestrator.emulator.core.latency import get_profile
from orchestrator.tokens import get_tokenizer
from tests.emulator.helpers import get, post
from tests.fixtures.emulator import EmulatorProcess

Factory = Callable[..., EmulatorProcess]
PROMPT = " ".join(["alpha beta gamma delta"] * 100)  # 501 tokens


def _timed_stream(port: int, prompt: str, tokens: int) -> tuple[float, list[float]]:
    """Client-side time to first token and inter-token gaps of one `/generate_stream` request."""
    body = json.dumps({"inputs": prompt, "parameters": {"max_new_tokens": tokens}}).encode()
    request = (f"POST /generate_stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body  # fmt: skip
    arrivals: list[float] = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sent = time.perf_counter()
        sock.sendall(request)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            now = time.perf_counter()
            arrivals.extend([now] * chunk.count(b"data: "))
    assert len(arrivals) == tokens
    return arrivals[0] - sent, [b - a for a, b in itertools.pairwise(arrivals)]


def _measure(port: int, rounds: int, tokens: int) -> tuple[float, float, list[float]]:
    ttfts, itls = [], []
    for _ in range(rounds):
        ttft, gaps = _timed_stream(port, PROMPT, tokens)
        ttfts.append(ttft)
        itls.append(statistics.median(gaps))
    return statistics.median(ttfts), statistics.median(itls), ttfts


def test_gpu_profile_ttft_and_itl_within_5_percent(emulator_factory: Factory) -> None:
    """At low load the client sees the profile's TTFT and ITL within 5 %. Timing needs a core that is not
    starved: up to 3 attempts of 5 requests each, the best attempt must be within 5 % (each is a real measurement)."""
    process = emulator_factory("--emulator-profile", "a100-awq")
    profile = get_profile("a100-awq")
    input_tokens = get_tokenizer().count(PROMPT)
    tokens = 40
    expected_ttft = profile.prefill_seconds(input_tokens)
    expected_itl = profile.decode_seconds(1, input_tokens + tokens // 2)
    attempts = []
    for _ in range(3):
        ttft, itl, ttfts = _measure(process.port, 5, tokens)
        error = max(abs(ttft - expected_ttft) / expected_ttft, abs(itl - expected_itl) / expected_itl)
        attempts.append((error, ttft, itl))
        if error < 0.05:
            break
    assert min(attempts)[0] < 0.05, (attempts, expected_ttft, expected_itl)
    records = get(process.url, "/emulator/requests").json()["requests"][-5:]
    assert all(record["input_tokens"] == input_tokens for record in records)
    # the emulator's own record agrees with what the client saw (medians, as a load test compares them)
    recorded_ttft = statistics.median(record["ttft_s"] for record in records)
    assert abs(recorded_ttft - statistics.median(ttfts)) / expected_ttft < 0.05
    recorded_itl = statistics.median(record["itl_median_s"] for record in records)
    assert abs(recorded_itl - expected_itl) / expected_itl < 0.05


def test_decode_step_grows_with_running_batch(emulator_factory: Factory) -> None:
    process = emulator_factory("--emulator-profile", "a10g-awq")
    profile = get_profile("a10g-awq")
    results: list[list[float]] = []

    def one() -> None:
        results.append(_timed_stream(process.port, "hi", 60)[1])

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    batched_itl = statistics.median(statistics.median(gaps[10:50]) for gaps in results)
    single = profile.decode_seconds(1, 10)
    eight = profile.decode_seconds(8, 8 * 40)
    assert batched_itl > single * 1.1
    assert abs(batched_itl - eight) / eight < 0.1


def test_max_batch_size_queues_requests(emulator_factory: Factory) -> None:
    process = emulator_factory("--emulator-profile", "a100-awq", "--max-batch-size", "1")
    replies: list[int] = []

    def one() -> None:
        replies.append(
            post(process.url, "/generate", {"inputs": "x", "parameters": {"max_new_tokens": 60}}).status
        )

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    metrics = get(process.url, "/metrics").text
    for thread in threads:
        thread.join(30)
    assert replies == [200, 200]
    assert "tgi_queue_size 1" in metrics and "tgi_batch_current_size 1" in metrics
    queues = sorted(r["queue_s"] for r in get(process.url, "/emulator/requests").json()["requests"])
    assert queues[0] < 0.05 and queues[1] > 0.4  # the second waited for the first (~0.55 s of decoding)


def test_prefill_budget_splits_prefills(emulator_factory: Factory) -> None:
    process = emulator_factory("--emulator-profile", "a100-awq", "--max-batch-prefill-tokens", "600",
                               "--max-input-tokens", "590", "--max-total-tokens", "700")  # fmt: skip
    threads = [threading.Thread(target=post, args=(process.url, "/generate",
                                                   {"inputs": PROMPT, "parameters": {"max_new_tokens": 5}}))
               for _ in range(2)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    metrics = get(process.url, "/metrics").text
    assert 'tgi_batch_inference_count{method="prefill"} 2' in metrics  # two 501-token prompts, budget 600
