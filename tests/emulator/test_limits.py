"""Concurrency permits (429), the API key (401), the payload limit (413) and CORS, over real sockets."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from tests.emulator.helpers import get, post, validate_response
from tests.fixtures.emulator import EmulatorProcess

SLOW = ("--emulator-profile", "a100-awq")  # ~9 ms per token: requests stay in flight


def _open_stream(url: str, tokens: int) -> http.client.HTTPConnection:
    """Start a stream and read its headers and first event; the request then holds its permit."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    body = json.dumps({"inputs": "hold", "parameters": {"max_new_tokens": tokens}})
    connection.request("POST", "/generate_stream", body=body, headers={"content-type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200
    assert response.readline().startswith(b"data: ")
    return connection


def test_overloaded_at_max_concurrent_requests(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    process = emulator_factory(*SLOW, "--max-concurrent-requests", "2")
    holders = [_open_stream(process.url, 300) for _ in range(2)]
    try:
        started = time.perf_counter()
        reply = post(process.url, "/generate", {"inputs": "x", "parameters": {"max_new_tokens": 2}})
        assert time.perf_counter() - started < 0.5  # rejected at once, never queued
        assert reply.status == 429
        validate_response(reply.json(), "/generate", 429)
        assert reply.json() == {"error": "Model is overloaded", "error_type": "overloaded"}
        assert "retry-after" not in reply.headers  # TGI sends none
        stream = post(process.url, "/generate_stream", {"inputs": "x", "parameters": {"max_new_tokens": 2}})
        assert stream.status == 200
        assert json.loads(stream.events()[0]) == {"error": "Model is overloaded", "error_type": "overloaded"}
        metrics = get(process.url, "/metrics").text
        assert 'tgi_request_failure{err="overloaded"} 2' in metrics
    finally:
        for connection in holders:
            connection.close()
    deadline = time.monotonic() + 10  # dropped streams free their permits
    while time.monotonic() < deadline:
        if post(process.url, "/generate", {"inputs": "x", "parameters": {"max_new_tokens": 1}}).status == 200:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("permits were not released after clients disconnected")
    assert 'tgi_request_failure{err="dropped"}' in get(process.url, "/metrics").text


def test_best_of_takes_one_permit_per_sequence(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    process = emulator_factory(*SLOW, "--max-concurrent-requests", "2")
    holder = _open_stream(process.url, 300)
    try:
        reply = post(process.url, "/generate", {"inputs": "x", "parameters": {
            "max_new_tokens": 2, "best_of": 2, "do_sample": True}})  # fmt: skip
        assert reply.status == 429
    finally:
        holder.close()


def test_retry_after_header_when_asked(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    process = emulator_factory("--max-concurrent-requests", "0", "--emulator-retry-after", "3")
    reply = post(process.url, "/generate", {"inputs": "x"})
    assert reply.status == 429 and reply.headers["retry-after"] == "3"


def test_api_key(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    process = emulator_factory(env={"API_KEY": "s3cret-key"})
    body = {"inputs": "x", "parameters": {"max_new_tokens": 1}}
    for path in ("/generate", "/generate_stream", "/", "/tokenize", "/v1/completions", "/v1/chat/completions",
                 "/invocations"):  # fmt: skip
        denied = post(process.url, path, body)
        assert denied.status == 401 and denied.body == b"", path
    wrong = post(process.url, "/generate", body, headers={"authorization": "Bearer nope"})
    assert wrong.status == 401
    ok = post(process.url, "/generate", body, headers={"authorization": "bearer S3CRET-KEY"})
    assert ok.status == 200  # TGI compares case-insensitively
    for path in ("/health", "/info", "/metrics", "/v1/models"):
        assert get(process.url, path).status == 200, path
    chat_tok = post(process.url, "/chat_tokenize", {"messages": [{"role": "user", "content": "x"}]})
    assert chat_tok.status == 200
    assert "s3cret-key" not in process.logs()


def test_api_key_from_inference_client(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    from huggingface_hub import InferenceClient
    from huggingface_hub.errors import HfHubHTTPError

    process = emulator_factory("--api-key", "k1")
    assert InferenceClient(base_url=process.url, api_key="k1").text_generation("x", max_new_tokens=2)
    try:
        InferenceClient(base_url=process.url, api_key="k2").text_generation("x", max_new_tokens=2)
    except HfHubHTTPError as exc:
        assert exc.response.status_code == 401
    else:
        raise AssertionError("a wrong key was accepted")


def test_payload_limit(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    process = emulator_factory("--payload-limit", "1000")
    reply = post(process.url, "/generate", {"inputs": "x" * 2000})
    assert reply.status == 413
    assert reply.text == "Failed to buffer the request body: length limit exceeded"
    assert reply.headers["content-type"].startswith("text/plain")
    assert (
        post(process.url, "/generate", {"inputs": "x" * 100, "parameters": {"max_new_tokens": 1}}).status
        == 200
    )


def test_cors(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    open_process = emulator_factory()
    reply = get(open_process.url, "/info", headers={"origin": "http://a.example"})
    assert reply.headers["access-control-allow-origin"] == "*"
    limited = emulator_factory("--cors-allow-origin", "http://ok.example")
    allowed = get(limited.url, "/info", headers={"origin": "http://ok.example"})
    assert allowed.headers["access-control-allow-origin"] == "http://ok.example"
    denied = get(limited.url, "/info", headers={"origin": "http://bad.example"})
    assert "access-control-allow-origin" not in denied.headers


def test_inference_client_sees_overload_in_stream_and_call(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    from huggingface_hub import InferenceClient
    from huggingface_hub.errors import OverloadedError

    process = emulator_factory("--max-concurrent-requests", "0")
    client = InferenceClient(base_url=process.url, api_key="x")
    try:
        client.text_generation("x", max_new_tokens=2)
    except OverloadedError:
        pass
    else:
        raise AssertionError("no OverloadedError")
    try:
        list(client.text_generation("x", max_new_tokens=2, stream=True))
    except OverloadedError:
        pass
    else:
        raise AssertionError("no OverloadedError from the SSE error event")
