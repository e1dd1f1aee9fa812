"""Start-up order with the port refusing connections until ready; SIGTERM abort (default) and drain."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.fixtures.emulator import VLLM_MODEL, EmulatorProcess

Factory = Callable[..., EmulatorProcess]

_ORDER = ("vLLM server version 0.33.0, serving model", "non-default args: {", "Using max model len 4096",
          "Initializing a V1 LLM engine (v0.33.0)", "Starting to load model", "Loading weights took",
          "Available KV cache memory", "GPU KV cache size:", "init engine (profile, create kv cache, warmup model)",
          "Supported tasks: ['generate']", "Starting vLLM server on http://127.0.0.1:", "Route: /v1/completions",
          "INFO:     Started server process", "INFO:     Waiting for application startup.",
          "INFO:     Application startup complete.")  # fmt: skip


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def test_startup_lines_in_order_and_port_refused_until_ready(vllm_emulator_factory: Factory) -> None:
    server = vllm_emulator_factory(
        "--max-model-len", "4096", "--emulator-load-seconds", "1.5", wait_ready=False
    )
    refused_seen = False
    deadline = time.monotonic() + 30
    while "Application startup complete." not in server.logs():
        assert time.monotonic() < deadline, server.logs()
        if "non-default args" in server.logs():
            refused_seen = _refused(server.port) or refused_seen
            assert _refused(server.port) or "Application startup complete." in server.logs()
        time.sleep(0.05)
    assert refused_seen
    assert not _refused(server.port)
    logs = server.logs()
    positions = [logs.find(line) for line in _ORDER]
    assert -1 not in positions and positions == sorted(positions), list(zip(_ORDER, positions, strict=True))
    assert "(APIServer pid=" in logs and "(EngineCore pid=" in logs


def test_busy_port_fails_before_any_model_work(vllm_emulator_factory: Factory) -> None:
    first = vllm_emulator_factory()
    second = EmulatorProcess([VLLM_MODEL], wait_ready=False, engine="vllm")
    second.port, second.url = first.port, first.url
    with second:
        assert second.process is not None and second.process.wait(30) == 1
        logs = second.logs()
    assert "OSError: [Errno 98] Address already in use" in logs and "Starting to load model" not in logs


def _stream(url: str, out: dict[str, Any], max_tokens: int) -> None:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    body = json.dumps({"prompt": "Tell me", "max_tokens": max_tokens, "stream": True})
    connection.request("POST", "/v1/completions", body, {"content-type": "application/json"})
    response = connection.getresponse()
    out["first"] = response.readline()
    out["events"] = [out["first"].decode()[6:].strip()]
    out["rest"] = response.read().decode()
    connection.close()


def _chunks(out: dict[str, Any]) -> list[dict[str, Any]]:
    text = out["first"].decode() + out["rest"]
    payloads = [b[6:] for b in text.split("\n\n") if b.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    return [json.loads(p) for p in payloads[:-1]]


def _sigterm_during_stream(server: EmulatorProcess, max_tokens: int) -> tuple[list[dict[str, Any]], int]:
    out: dict[str, Any] = {}
    reader = threading.Thread(target=_stream, args=(server.url, out, max_tokens))
    reader.start()
    while "first" not in out:
        time.sleep(0.01)
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    reader.join(60)
    return _chunks(out), server.process.wait(60)


def test_sigterm_aborts_in_flight_requests_by_default(vllm_emulator_factory: Factory) -> None:
    server = vllm_emulator_factory("--emulator-profile", "a100-awq")
    chunks, code = _sigterm_during_stream(server, 2000)
    assert code == 0
    assert len(chunks) < 2000 and chunks[-1]["choices"][0]["finish_reason"] == "abort"
    logs = server.logs()
    for line in ("[shutdown] API server: shutdown triggered", "stopping engine client mode=abort timeout=0s",
                 "[shutdown] EngineCore: aborting in-flight requests count=1", "engine client stopped",
                 "signalling HTTP server shutdown", "INFO:     Application shutdown complete.",
                 "INFO:     Finished server process"):  # fmt: skip
        assert line in logs, logs


def test_sigterm_drains_with_a_shutdown_timeout(vllm_emulator_factory: Factory) -> None:
    server = vllm_emulator_factory("--emulator-profile", "a100-awq", "--shutdown-timeout", "30")
    chunks, code = _sigterm_during_stream(server, 150)
    assert code == 0
    assert len(chunks) == 150 and chunks[-1]["choices"][0]["finish_reason"] == "length"
    logs = server.logs()
    assert "stopping engine client mode=drain timeout=30s" in logs
    assert "[shutdown] EngineCore: draining in-flight requests count=1 timeout=30s" in logs


def test_sigterm_during_startup_ends_with_keyboardinterrupt(vllm_emulator_factory: Factory) -> None:
    server = vllm_emulator_factory("--emulator-load-seconds", "30", wait_ready=False)
    while "Starting to load model" not in server.logs():
        time.sleep(0.05)
    assert server.terminate(30) == 130
    assert "KeyboardInterrupt: terminated" in server.logs()


def test_kv_cache_too_small_for_the_model_length_fails_start_up(vllm_emulator_factory: Factory) -> None:
    server = vllm_emulator_factory("--emulator-kv-cache-tokens", "1000", wait_ready=False)
    assert server.process is not None and server.process.wait(30) == 1
    logs = server.logs()
    assert "To serve at least one request with the model's max seq len (32768)" in logs
    assert "EngineCore failed to start." in logs and "Engine core initialization failed." in logs


def test_engine_death_while_serving(vllm_emulator_factory: Factory) -> None:
    from tests.emulator.helpers import get, post

    server = vllm_emulator_factory("--emulator-crash-after-requests", "2")
    assert post(server.url, "/v1/completions", {"prompt": "a", "max_tokens": 2}).status == 200
    dead = post(server.url, "/v1/completions", {"prompt": "a", "max_tokens": 2})
    assert dead.status == 500 and dead.json()["error"]["type"] == "InternalServerError"
    assert get(server.url, "/health").status == 503
    assert server.process is not None and server.process.wait(30) == 0  # the watchdog stops the server
    logs = server.logs()
    for line in ("EngineCore encountered a fatal error.", "engine core exited unexpectedly; starting cleanup",
                 "EngineDeadError: EngineCore encountered an issue."):  # fmt: skip
        assert line in logs, logs
