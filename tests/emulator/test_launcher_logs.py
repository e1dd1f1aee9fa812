"""Launcher semantics and log lines as TGI 3.3.7 prints them: batch-total inference, CUDA graphs, remote code, the
KV-cache check after warm-up."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.emulator.helpers import get
from tests.fixtures.emulator import EmulatorProcess


def _records(logs: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]


def _message(record: dict[str, Any]) -> str:
    return str(record.get("message") or record.get("fields", {}).get("message"))


def test_max_batch_total_tokens_is_ignored_for_flash_models(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    process = emulator_factory("--max-batch-total-tokens", "4096", "--json-output")
    metrics = get(process.url, "/metrics").text
    assert "tgi_batch_max_total_tokens 536720" in metrics  # the inferred KV capacity, not 4096
    assert get(process.url, "/info").json()["max_total_tokens"] == 32768  # would not fit into 4096
    records = _records(process.logs())
    messages = [_message(r) for r in records]
    deprecated = messages.index("`--max-batch-total-tokens` is deprecated for Flash Attention models.")
    inferred = messages.index("Inferred max batch total tokens: 536720")
    setting = messages.index("Setting max batch total tokens to 536720")
    assert messages.index("Warming up model") < deprecated < inferred < setting
    for index in (deprecated, inferred):
        record = records[index]
        assert (record["level"], record["target"], record["filename"], record["line_number"]) == (
            "WARN", "text_generation_router_v3", "backends/v3/src/lib.rs", 90 if index == deprecated else 94)  # fmt: skip


def test_without_the_flag_no_deprecation_warning(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    logs = emulator_factory().logs()
    assert "deprecated for Flash Attention" not in logs and "Inferred max batch total tokens" not in logs


def test_given_cuda_graphs_are_used_and_not_called_default(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    given = emulator_factory("--cuda-graphs", "1,2,4,8").logs()
    assert "Using default cuda graphs" not in given
    assert "Cuda Graphs are enabled for sizes [8, 4, 2, 1]" in given
    default = emulator_factory().logs()
    assert "Using default cuda graphs [1, 2, 4, 8, 16, 32]" in default
    assert "Cuda Graphs are enabled for sizes [32, 16, 8, 4, 2, 1]" in default
    off = emulator_factory("--cuda-graphs", "0").logs()
    assert "Cuda Graphs are disabled (CUDA_GRAPHS=None)." in off and "Cuda Graphs are enabled" not in off


def test_trust_remote_code_warns(emulator_factory: Callable[..., EmulatorProcess]) -> None:
    process = emulator_factory("--trust-remote-code", "--model-id", "org/model", "--json-output")
    warning = next(r for r in _records(process.logs()) if "trust_remote_code` is set" in _message(r))
    assert warning["level"] == "WARN" and warning["target"] == "text_generation_launcher"
    assert (
        _message(warning)
        == "`trust_remote_code` is set. Trusting that model `org/model` do not contain malicious code."
    )
    assert "trust_remote_code` is set" not in emulator_factory().logs()


def test_kv_cache_too_small_prints_the_routers_error_only() -> None:
    args = ["--emulator-kv-cache-tokens", "16000", "--max-total-tokens", "32768", "--max-input-tokens", "100"]
    with EmulatorProcess(args, wait_ready=False) as process:
        assert process.process is not None
        assert process.process.wait(timeout=30) == 1
        logs = process.logs()
    lines = logs.splitlines()
    assert "Error: Backend(NotEnoughMemory(32768))" in lines  # relayed raw, as the launcher println!s it
    assert "max_batch_total_tokens=" not in logs and "Setting max batch total tokens" not in logs
    crashed = next(i for i, line in enumerate(lines) if "Webserver Crashed" in line)
    assert lines.index("Error: Backend(NotEnoughMemory(32768))") < crashed
    assert "Error: WebserverFailed" in lines and "Connected" not in logs
