"""Each fault kind, seeded and set by flags or env, observed from a real client."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

import pytest
from huggingface_hub import InferenceClient
from huggingface_hub.errors import GenerationError, IncompleteGenerationError

from tests.emulator.helpers import get, post, validate_response
from tests.fixtures.emulator import EmulatorProcess

Factory = Callable[..., EmulatorProcess]
BODY = {"inputs": "x", "parameters": {"max_new_tokens": 5}}


def _raw_stream(process: EmulatorProcess, tokens: int = 10, timeout: float = 10) -> tuple[bytes, list[float]]:
    """POST /generate_stream on a raw socket; returns everything received until EOF and each read's time."""
    body = json.dumps({"inputs": "x", "parameters": {"max_new_tokens": tokens}}).encode()
    request = (f"POST /generate_stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body  # fmt: skip
    received, times = b"", []
    with socket.create_connection(("127.0.0.1", process.port), timeout=timeout) as sock:
        sock.sendall(request)
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
            times.append(time.perf_counter())
    return received, times


def test_generation_error_424(emulator_factory: Factory) -> None:
    process = emulator_factory("--emulator-fault-generation-rate", "1")
    reply = post(process.url, "/generate", BODY)
    assert reply.status == 424
    validate_response(reply.json(), "/generate", 424)
    assert reply.json()["error_type"] == "generation"
    assert reply.json()["error"].startswith("Request failed during generation: ")
    with pytest.raises(GenerationError):
        InferenceClient(base_url=process.url, api_key="x").text_generation("x", max_new_tokens=3)
    stream = post(process.url, "/generate_stream", BODY)
    events = [json.loads(e) for e in stream.events()]
    assert "token" in events[0] and events[-1]["error_type"] == "generation"  # fails after generation started
    assert 'tgi_request_failure{err="generation"} 3' in get(process.url, "/metrics").text


def test_incomplete_generation_500(emulator_factory: Factory) -> None:
    process = emulator_factory(env={"EMULATOR_FAULT_INCOMPLETE_RATE": "1"})  # env works like the flag
    reply = post(process.url, "/generate", BODY)
    assert reply.status == 500 and reply.json()["error_type"] == "incomplete_generation"
    with pytest.raises(IncompleteGenerationError):
        InferenceClient(base_url=process.url, api_key="x").text_generation("x", max_new_tokens=3)


def test_overload_burst_429(emulator_factory: Factory) -> None:
    process = emulator_factory("--emulator-fault-overload-rate", "0.2", "--emulator-fault-overload-burst", "3",
                               "--emulator-fault-seed", "5", "--emulator-retry-after", "2")  # fmt: skip
    statuses = [post(process.url, "/generate", BODY) for _ in range(40)]
    codes = [r.status for r in statuses]
    assert 429 in codes and 200 in codes
    first = codes.index(429)
    assert codes[first : first + 3] == [429, 429, 429]  # a burst rejects 3 requests in a row
    assert all(r.headers.get("retry-after") == "2" for r in statuses if r.status == 429)


def test_faults_are_reproducible_per_seed(emulator_factory: Factory) -> None:
    runs = []
    for _ in range(2):
        process = emulator_factory("--emulator-fault-generation-rate", "0.5", "--emulator-fault-seed", "11")
        runs.append([post(process.url, "/generate", BODY).status for _ in range(12)])
    assert runs[0] == runs[1] and set(runs[0]) == {200, 424}
    other = emulator_factory("--emulator-fault-generation-rate", "0.5", "--emulator-fault-seed", "12")
    assert [post(other.url, "/generate", BODY).status for _ in range(12)] != runs[0]


def test_unhealthy_window_503(emulator_factory: Factory) -> None:
    process = emulator_factory("--emulator-fault-unhealthy-rate", "1", "--emulator-fault-unhealthy-seconds", "1",
                               "--emulator-retry-after", "1")  # fmt: skip
    reply = post(process.url, "/generate", BODY)
    assert reply.status == 503 and reply.headers["retry-after"] == "1"
    health = get(process.url, "/health")
    assert health.status == 503
    validate_response(health.json(), "/health", 503, method="get")
    assert health.json() == {"error": "unhealthy", "error_type": "healthcheck"}
    time.sleep(1.2)
    assert get(process.url, "/health").status == 200


def test_connection_reset_before_first_byte(emulator_factory: Factory) -> None:
    process = emulator_factory("--emulator-fault-reset-rate", "1")
    received, _ = _raw_stream(process)
    assert received == b""
    with pytest.raises((ConnectionError, OSError)):
        post(process.url, "/generate", BODY)


def test_stream_cut_mid_way(emulator_factory: Factory) -> None:
    process = emulator_factory(
        "--emulator-fault-stream-cut-rate", "1", "--emulator-fault-stream-cut-after", "2"
    )
    received, _ = _raw_stream(process, tokens=10)
    assert received.startswith(b"HTTP/1.1 200")
    assert received.count(b"data: ") == 2
    assert not received.endswith(b"0\r\n\r\n")  # no final chunk: the client sees a broken stream
    from httpx2 import RemoteProtocolError

    client = InferenceClient(base_url=process.url, api_key="x")
    with pytest.raises(RemoteProtocolError):
        list(client.text_generation("x", max_new_tokens=10, stream=True))


def test_slow_first_byte(emulator_factory: Factory) -> None:
    process = emulator_factory("--emulator-fault-slow-first-byte-rate", "1",
                               "--emulator-fault-slow-first-byte-seconds", "0.8")  # fmt: skip
    started = time.perf_counter()
    assert post(process.url, "/generate", BODY).status == 200
    assert time.perf_counter() - started >= 0.8


def test_stall_after_first_token(emulator_factory: Factory) -> None:
    process = emulator_factory("--emulator-fault-stall-rate", "1", "--emulator-fault-stall-seconds", "0.8")
    received, times = _raw_stream(process, tokens=5)
    assert received.count(b"data: ") == 5
    assert times[-1] - times[0] >= 0.75


def test_crash_after_requests(emulator_factory: Factory) -> None:
    process = emulator_factory("--emulator-crash-after-requests", "2")
    assert post(process.url, "/generate", BODY).status == 200
    try:
        reply = post(process.url, "/generate", {"inputs": "x", "parameters": {"max_new_tokens": 5}})
        assert reply.status == 424
    except (ConnectionError, OSError):
        pass  # the process may die before answering
    assert process.process is not None
    assert process.process.wait(timeout=10) == 1
    logs = process.logs()
    assert "Shard complete standard error output" in logs and "Shard 0 crashed" in logs
    assert "Error: ShardFailed" in logs


@pytest.mark.parametrize(("phase", "lines", "error"), [
    ("download", ["Download encountered an error"], "Error: DownloadError"),
    ("load", ["Shard complete standard error output", "Shard 0 failed to start"], "Error: ShardCannotStart"),
])  # fmt: skip
def test_crash_during_startup(phase: str, lines: list[str], error: str) -> None:
    with EmulatorProcess(["--emulator-crash-during-startup", phase], wait_ready=False) as process:
        assert process.process is not None
        assert process.process.wait(timeout=20) == 1
        logs = process.logs()
    for line in [*lines, error]:
        assert line in logs
    assert "Connected" not in logs


def test_warmup_oom() -> None:
    with EmulatorProcess(
        ["--emulator-warmup-oom", "--max-batch-prefill-tokens", "8192"], wait_ready=False
    ) as process:
        assert process.process is not None
        assert process.process.wait(timeout=20) == 1
        logs = process.logs()
    assert (
        "Not enough memory to handle 8192 prefill tokens. You need to decrease `--max-batch-prefill-tokens`"
        in logs
    )
    assert "Webserver Crashed" in logs and "Error: WebserverFailed" in logs


def test_stall_keeps_the_stream_alive_with_comments(emulator_factory: Factory) -> None:
    process = emulator_factory("--emulator-fault-stall-rate", "1", "--emulator-fault-stall-seconds", "1",
                               env={"EMULATOR_SSE_KEEP_ALIVE_SECONDS": "0.3"})  # fmt: skip
    received, _ = _raw_stream(process, tokens=3)
    assert received.count(b"data: ") == 3
    assert received.count(b"\r\n:\n\n\r\n") >= 2  # TGI's SSE keep-alive comments, each its own chunk


def test_stall_delays_a_non_streamed_answer(emulator_factory: Factory) -> None:
    process = emulator_factory("--emulator-fault-stall-rate", "1", "--emulator-fault-stall-seconds", "0.6")
    started = time.perf_counter()
    reply = post(process.url, "/generate", BODY)
    assert reply.status == 200 and time.perf_counter() - started >= 0.6
    assert int(reply.headers["x-inference-time"]) >= 590  # event-loop timers have 1 ms granularity
