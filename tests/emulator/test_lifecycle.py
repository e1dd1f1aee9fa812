"""Flags and env, TGI's argument checks, start-up milestones with the port closed, SIGTERM drain."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from tests.emulator.helpers import get, post
from tests.fixtures.emulator import EmulatorProcess, free_port

MILESTONES = [
    "Args {",
    "Using attention",
    "Default `max_batch_prefill_tokens` to 4096",
    "Starting check and download process for",
    "Download file:",
    "Successfully downloaded weights",
    "Starting shard",
    "Waiting for shard to be ready...",
    "Server started at unix://",
    "Shard ready in",
    "Starting Webserver",
    "Warming up model",
    "KV-cache blocks:",
    "Setting max batch total tokens to",
    "Connected",
]


def _run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "orchestrator.emulator", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-input-tokens", "4096", "--max-total-tokens", "4096"],
         "`max_input_tokens`(4096) must be < `max_total_tokens`(4096)"),
        (["--max-input-tokens", "10", "--max-input-length", "10"],
         "Both `max_input_tokens` (10) and `max_input_length` (10) are set."),
        (["--validation-workers", "0"], "`validation_workers` must be > 0"),
        (["--max-total-tokens", "5000", "--max-batch-total-tokens", "4096"],
         "`max_total_tokens` must be <= `max_batch_total_tokens`. Given: 5000 and 4096"),
        (["--sharded", "true", "--num-shard", "1"], "`sharded` is true but `num_shard` <= 1"),
        (["--ngrok"], "`ngrok-authtoken` must be set when using ngrok tunneling"),
    ],
)  # fmt: skip
def test_argument_validation_exits_1(args: list[str], message: str) -> None:
    result = _run(*args, "--port", str(free_port()))
    assert result.returncode == 1
    assert result.stderr.startswith('Error: ArgumentValidation("')
    assert message in result.stderr
    assert "Args {" in result.stdout and "Starting check and download" not in result.stdout


def test_env_vars_are_read_and_flags_win() -> None:
    port = free_port()
    env = {"PORT": str(port), "MAX_TOTAL_TOKENS": "2048", "MAX_INPUT_TOKENS": "1000", "HOSTNAME": "127.0.0.1",
           "MODEL_ID": "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"}  # fmt: skip
    with EmulatorProcess(["--max-input-tokens", "1500"], env=env) as process:
        # the fixture passes --port; env PORT is then overridden, as with clap
        info = get(process.url, "/info").json()
    assert info["max_total_tokens"] == 2048 and info["max_input_tokens"] == 1500
    assert info["model_id"] == "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"
    bad = _run(env={"MAX_INPUT_TOKENS": "3000", "MAX_TOTAL_TOKENS": "2000", "PORT": str(port)})
    assert bad.returncode == 1 and "`max_input_tokens`(3000) must be < `max_total_tokens`(2000)" in bad.stderr


def test_unknown_flag_is_a_usage_error() -> None:
    result = _run("--no-such-flag")
    assert result.returncode == 2 and "--no-such-flag" in result.stderr


def test_startup_milestones_port_closed_until_connected() -> None:
    process = EmulatorProcess(["--emulator-download-seconds", "0.6", "--emulator-load-seconds", "10.5",
                               "--emulator-warmup-seconds", "0.6"], wait_ready=False)  # fmt: skip
    with process:
        refused = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", process.port), timeout=0.5):
                    break
            except OSError:
                refused += 1
                time.sleep(0.1)
        assert refused > 50  # closed for ~11.7 s of start-up
        process.wait_until_ready()
        logs = process.logs()
    positions = [logs.find(milestone) for milestone in MILESTONES]
    assert all(p >= 0 for p in positions), [m for m, p in zip(MILESTONES, positions, strict=True) if p < 0]
    assert positions == sorted(positions)


def test_json_output_lines() -> None:
    with EmulatorProcess(["--json-output"]) as process:
        logs = process.logs()
    records = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert records and all("timestamp" in r and "level" in r for r in records)
    launcher = [r for r in records if r.get("target") == "text_generation_launcher"]
    assert launcher[0]["fields"]["message"].startswith("Args {")
    shard = next(r for r in launcher if r["fields"]["message"] == "Starting shard")
    assert shard["span"] == {"name": "shard-manager", "rank": 0}
    router = [r for r in records if r.get("target", "").startswith("text_generation_router")]
    assert router[-1]["message"] == "Connected" and {"filename", "line_number"} <= set(router[-1])


def test_invalid_hostname_defaults_to_all_interfaces() -> None:
    port = free_port()
    env = {**os.environ, "HOSTNAME": "3f2a9c1b7d4e", "PYTHONUNBUFFERED": "1"}  # what Docker puts in HOSTNAME
    process = subprocess.Popen([sys.executable, "-m", "orchestrator.emulator", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert get(f"http://127.0.0.1:{port}", "/health", timeout=2).status == 200
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "Invalid hostname, defaulting to 0.0.0.0" in output


def test_sigterm_drains_in_flight_requests_then_exits_0(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    process = emulator_factory("--emulator-profile", "a100-awq")
    result: dict[str, object] = {}

    def long_request() -> None:
        reply = post(process.url, "/generate", {"inputs": "x", "parameters": {"max_new_tokens": 150}})
        result["status"], result["tokens"] = reply.status, reply.headers.get("x-generated-tokens")

    worker = threading.Thread(target=long_request)
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    code = process.terminate(timeout=30)
    worker.join(10)
    assert code == 0
    assert result == {"status": 200, "tokens": "150"}  # ~1.4 s of generation finished after SIGTERM
    assert time.monotonic() - started > 0.5
    logs = process.logs()
    for line in ("Terminating webserver", "signal received, starting graceful shutdown", "webserver terminated",
                 "Shutting down shards"):  # fmt: skip
        assert line in logs
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", process.port), timeout=0.5)


def test_graceful_timeout_bounds_the_drain(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    process = emulator_factory("--emulator-profile", "a100-awq", "--graceful-termination-timeout", "1")
    worker = threading.Thread(target=post, args=(process.url, "/generate",
                                                 {"inputs": "x", "parameters": {"max_new_tokens": 2000}}))  # fmt: skip
    worker.daemon = True
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert process.terminate(timeout=30) == 0
    assert time.monotonic() - started < 5  # 2000 tokens would need ~18 s


def test_sigterm_during_startup_exits_0() -> None:
    with EmulatorProcess(["--emulator-load-seconds", "30"], wait_ready=False) as process:
        time.sleep(1.0)
        assert process.terminate(timeout=10) == 0
        assert "Shutting down shards" in process.logs()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from orchestrator.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=30)


def test_cli_emulate_passes_args_through() -> None:
    result = _cli("emulate", "--help")
    assert result.returncode == 0
    assert "--max-total-tokens" in result.stdout and "--emulator-profile" in result.stdout
    assert "MAX_TOTAL_TOKENS" in result.stdout
    bad = _cli("emulate", "--max-input-tokens", "9", "--max-total-tokens", "9")
    assert bad.returncode == 1 and "ArgumentValidation" in bad.stderr


def test_port_in_use_exits_1() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run("--port", str(port), "--hostname", "127.0.0.1")
    assert result.returncode == 1
    assert "Webserver Crashed" in result.stdout and "Error: WebserverFailed" in result.stderr


def test_api_key_redacted_unless_asked(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    quiet = emulator_factory("--api-key", "hush-123")
    assert "hush-123" not in quiet.logs() and 'api_key: Some("<redacted>")' in quiet.logs()
    loud = emulator_factory("--api-key", "hush-123", "--emulator-log-api-key")
    assert 'api_key: Some("hush-123")' in loud.logs()  # what real TGI prints
