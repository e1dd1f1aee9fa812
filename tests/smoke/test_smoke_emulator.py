"""`orchestrator smoke` as a real process against the emulator as a real process: every check passes against a
healthy emulator, and each check fails (exit 1, a JUnit <failure> for it) against an emulator started with the
fault that breaks it. Faults the emulator cannot produce (500 on over-long prompts, a hang, missing metrics) are
shown with the loopback stub in test_checks_stub.py."""

from __future__ import annotations

import json
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.smoke import CHECKS
from tests.fixtures.emulator import EmulatorProcess
from tests.helpers import run_orchestrator

MODEL = "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"
KEY_VAR = "SMOKE_TEST_API_KEY"
KEY = "smoke-test-key-123"


def run_smoke_cli(
    url: str, tmp_path: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], ET.Element]:
    """Run the real CLI; returns (exit code, --json document, JUnit <testsuite>)."""
    junit = tmp_path / "junit.xml"
    done = run_orchestrator(
        "smoke", "--url", url, "--json", "--junit-xml", str(junit), "--timeout", "10", *extra,
        cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert done.stdout, done.stderr
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    return done.returncode, json.loads(done.stdout), suite


def failed_in_junit(suite: ET.Element) -> set[str]:
    return {str(case.get("name")) for case in suite.iter("testcase") if case.find("failure") is not None}


def test_every_check_passes_against_the_emulator_with_an_api_key(tmp_path: Path) -> None:
    with EmulatorProcess(["--model-id", MODEL, "--max-input-tokens", "3696", "--max-total-tokens", "4096"],
                         env={"API_KEY": KEY}) as emu:  # fmt: skip
        code, data, suite = run_smoke_cli(emu.url, tmp_path, "--api-key-env", KEY_VAR, env={KEY_VAR: KEY})
    assert code == 0, data
    assert {c["name"]: c["status"] for c in data["checks"]} == {c.name: "pass" for c in CHECKS}
    assert suite.get("tests") == str(len(CHECKS)) and suite.get("failures") == "0"
    assert KEY not in json.dumps(data)


def test_expect_flags_check_limits_the_launch_rules_would_refuse_as_settings(tmp_path: Path) -> None:
    # As settings, 8191/8192 would demand max_batch_prefill_tokens >= 8191 (exit 2); as expectations they are
    # just what /info must say, and the over-long prompt is sized from them.
    limits = [
        "--max-input-tokens",
        "8191",
        "--max-total-tokens",
        "8192",
        "--max-batch-prefill-tokens",
        "8192",
    ]
    with EmulatorProcess(["--model-id", MODEL, *limits]) as emu:
        code, data, _ = run_smoke_cli(
            emu.url, tmp_path, "--expect-max-input-tokens", "8191", "--expect-max-total-tokens", "8192"
        )
    assert code == 0, data
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["info"]["status"] == "pass" and "max_input_tokens=8191" in checks["info"]["detail"]
    assert checks["overlong_prompt"]["status"] == "pass"


def _prime_unhealthy(emu: EmulatorProcess) -> None:
    """One generation request opens the emulator's 503 window (TGI's /health fails after a generation error)."""
    body = json.dumps({"inputs": "hi", "parameters": {"max_new_tokens": 1}}).encode()
    request = urllib.request.Request(f"{emu.url}/generate", body, {"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)


BASE = ["--model-id", MODEL, "--max-input-tokens", "3696", "--max-total-tokens", "4096"]

FAULTS: list[tuple[str, list[str], list[str], Callable[[EmulatorProcess], None] | None]] = [
    # (check that must fail, emulator args, extra smoke args, action before smoke)
    ("health", [*BASE, "--emulator-fault-unhealthy-rate", "1", "--emulator-fault-unhealthy-seconds", "120"], [],
     _prime_unhealthy),
    ("info", ["--model-id", "someone/another-model", "--max-input-tokens", "3696", "--max-total-tokens", "4096"], [],
     None),
    ("generate", [*BASE, "--emulator-fault-generation-rate", "1"], [], None),
    ("generate_stream", [*BASE, "--emulator-fault-stream-cut-rate", "1", "--emulator-fault-stream-cut-after", "2"],
     [], None),
    ("chat", [*BASE, "--emulator-fault-generation-rate", "1"], [], None),
    ("chat_stream", [*BASE, "--emulator-fault-stream-cut-rate", "1", "--emulator-fault-stream-cut-after", "2"], [],
     None),
    # A server whose limits are larger than the deployment should have accepts the over-long prompt (200, not 422).
    ("overlong_prompt", ["--model-id", MODEL, "--max-input-tokens", "16000", "--max-total-tokens", "16384",
                         "--max-batch-prefill-tokens", "16384"], [], None),
    # A server started without the API key the deployment should have lets unauthenticated requests through.
    ("api_key", BASE, ["--api-key-env", KEY_VAR], None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("check", "emulator_args", "smoke_args", "before"), FAULTS, ids=[f[0] for f in FAULTS]
)
def test_each_check_fails_against_the_matching_fault(
    check: str,
    emulator_args: list[str],
    smoke_args: list[str],
    before: Callable[[EmulatorProcess], None] | None,
    tmp_path: Path,
) -> None:
    with EmulatorProcess(emulator_args) as emu:
        if before is not None:
            before(emu)
        code, data, suite = run_smoke_cli(emu.url, tmp_path, *smoke_args, env={KEY_VAR: KEY})
    statuses = {c["name"]: c["status"] for c in data["checks"]}
    assert code == 1, data
    assert statuses[check] == "fail", data
    assert check in failed_in_junit(suite)
    assert data["ok"] is False


def test_stream_cut_breaks_only_the_streaming_checks(tmp_path: Path) -> None:
    with EmulatorProcess(
        [*BASE, "--emulator-fault-stream-cut-rate", "1", "--emulator-fault-stream-cut-after", "2"]
    ) as emu:
        code, _data, suite = run_smoke_cli(emu.url, tmp_path)
    assert code == 1
    assert failed_in_junit(suite) == {"generate_stream", "chat_stream"}


def test_a_stalling_server_fails_on_the_deadline_instead_of_hanging(tmp_path: Path) -> None:
    import time

    stall = [*BASE, "--emulator-fault-stall-rate", "1", "--emulator-fault-stall-seconds", "60"]
    with EmulatorProcess(stall) as emu:
        start = time.monotonic()
        code, data, suite = run_smoke_cli(emu.url, tmp_path, "--timeout", "2")
        took = time.monotonic() - start
    assert code == 1
    assert took < 45  # four stalled generation checks at 2 s each, not four 60 s stalls
    timed_out = {c["name"] for c in data["checks"] if c["status"] == "fail" and "timed out" in c["detail"]}
    assert {"generate", "generate_stream", "chat", "chat_stream"} <= timed_out
    assert timed_out <= failed_in_junit(suite)
