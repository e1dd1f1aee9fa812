"""The client, smoke and load against the vLLM emulator as a real process on a real loopback port.

Client: detection, each route (sync and async), server token counts from usage, and vLLM's status codes with the
retry rules (400 and 404 never retried, 401 named, 503 and 500 retried). Smoke: the real CLI passes every vLLM
check with JUnit names per engine. Load: Locust really runs every scenario on vLLM's routes with the server's
token counts and vLLM's metric names.
"""

from __future__ import annotations

import json
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.client import (
    GREEDY,
    RetryPolicy,
    TGIAuthenticationError,
    TGIClient,
    TGIGenerationError,
    TGIUnavailableError,
    TGIValidationError,
)
from orchestrator.load.report import read_samples
from orchestrator.load.request import LoadRequest
from orchestrator.load.runner import run_load
from orchestrator.smoke.vllm_checks import VLLM_CHECKS
from tests.client.drivers import DRIVERS
from tests.helpers import run_orchestrator
from tests.vllm_client.vllm_emulator import MAX_MODEL_LEN, VllmEmulator

FAST = RetryPolicy(initial_backoff=0.001, max_backoff=0.01, jitter=0.001, deadline=20, max_attempts=3)
PROMPT = "[INST] Name three rivers. [/INST]"
KEY = "vllm-test-key-123"
Make = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Iterator[Make]:
    drivers: list[Any] = []

    def factory(url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("policy", FAST)
        driver = DRIVERS[request.param](url, **kwargs)
        drivers.append(driver)
        return driver

    yield factory
    for driver in drivers:
        driver.close()


def metric(url: str, name: str, **labels: str) -> float:
    from orchestrator.formats.prometheus import parse_prometheus, value

    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
        return value(parse_prometheus(resp.read().decode()), name, **labels)


def test_detection_finds_vllm_its_version_and_context(vllm: VllmEmulator) -> None:
    with TGIClient(vllm.url, policy=FAST) as client:
        found = client.detect_engine()
        assert (found.kind, found.version, found.max_context) == ("vllm", "0.33.0", MAX_MODEL_LEN)
        assert client.engine == "vllm" and client.info()["engine"] == "vllm"


def test_every_method_works_with_the_engine_detected(make: Make, vllm: VllmEmulator) -> None:
    driver = make(vllm.url, preset=GREEDY)
    result = driver.generate(PROMPT, max_new_tokens=6, details=True)
    assert driver.client.engine == "vllm"  # found on the first call's 404 from /generate
    assert result.generated_tokens == 6 and result.finish_reason == "length" and result.text
    events, stream, error = driver.collect(PROMPT, max_new_tokens=5)
    assert error is None and len(events) == 5 and events[-1].is_final
    assert stream.details["generated_tokens"] == 5 and stream.details["input_length"] > 0
    assert stream.generated_text == "".join(e.text for e in events)
    reply = driver.chat([{"role": "user", "content": "Capital of France?"}], max_tokens=4)
    assert reply.choices[0].message.content and reply.usage.completion_tokens == 4
    chunks, chat_stream = driver.chat_collect(
        [{"role": "user", "content": "Capital of Italy?"}], max_tokens=3
    )
    assert chat_stream.text and chunks[-1].usage.completion_tokens == 3


def test_a_400_is_never_retried(make: Make, vllm: VllmEmulator) -> None:
    driver = make(vllm.url, engine="vllm")
    before = metric(vllm.url, "vllm:request_success_total")
    with pytest.raises(TGIValidationError) as caught:
        driver.generate(PROMPT, temperature=3.0)
    assert caught.value.status == 400 and caught.value.error_type == "BadRequestError"
    assert caught.value.attempts == 1 and "temperature" in (caught.value.server_message or "")
    assert metric(vllm.url, "vllm:request_success_total") == before  # nothing reached the engine


def test_a_prompt_over_max_model_len_is_a_400(make: Make, vllm: VllmEmulator) -> None:
    driver = make(vllm.url, engine="vllm")
    with pytest.raises(TGIValidationError) as caught:
        driver.generate("hello " * (MAX_MODEL_LEN + 16), max_new_tokens=1)
    assert caught.value.status == 400 and caught.value.attempts == 1


def test_an_unknown_model_is_a_404_never_retried(make: Make, vllm: VllmEmulator) -> None:
    driver = make(vllm.url, engine="vllm")
    with pytest.raises(TGIValidationError) as caught:
        driver.generate(PROMPT, parameters={"model": "no-such-model"})
    assert caught.value.status == 404 and caught.value.attempts == 1


def test_401_without_the_key_and_success_with_it(
    make: Make, vllm_factory: Callable[..., VllmEmulator]
) -> None:
    emu = vllm_factory("--api-key", KEY)
    with pytest.raises(TGIAuthenticationError, match="none was sent") as caught:
        make(emu.url, engine="vllm").generate(PROMPT, max_new_tokens=2)
    assert caught.value.status == 401 and caught.value.attempts == 1
    assert make(emu.url, api_key=KEY).generate(PROMPT, max_new_tokens=2)  # detected with the key too


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [("--emulator-fault-overload-rate", TGIUnavailableError, 503),
     ("--emulator-fault-generation-rate", TGIGenerationError, 500)],
)  # fmt: skip
def test_503_and_500_are_retried(
    make: Make, vllm_factory: Callable[..., VllmEmulator], fault: str, error: type, status: int
) -> None:
    emu = vllm_factory(fault, "1.0")
    with pytest.raises(error) as caught:
        make(emu.url, engine="vllm").generate(PROMPT, max_new_tokens=2)
    assert caught.value.status == status and caught.value.attempts == FAST.max_attempts
    assert caught.value.stats is not None and caught.value.stats.outcome == "attempts"


def test_smoke_passes_every_vllm_check_named_per_engine(tmp_path: Path, vllm_factory: Any) -> None:
    emu = vllm_factory("--api-key", KEY)
    junit = tmp_path / "junit.xml"
    done = run_orchestrator(
        "smoke", "--url", emu.url, "--json", "--junit-xml", str(junit), "--timeout", "10",
        "--api-key-env", "VLLM_TEST_KEY", cwd=tmp_path, env={"VLLM_TEST_KEY": KEY}, timeout=120,
    )  # fmt: skip
    data = json.loads(done.stdout)
    assert done.returncode == 0, data
    assert data["engine"] == "vllm"
    assert {c["name"]: c["status"] for c in data["checks"]} == {c.name: "pass" for c in VLLM_CHECKS}
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    assert {case.get("classname") for case in suite.iter("testcase")} == {"orchestrator-smoke.vllm"}
    assert KEY not in done.stdout + junit.read_text()


def test_tgi_checks_fail_on_the_same_endpoint(vllm: VllmEmulator) -> None:
    # the same vLLM endpoint checked as if it were TGI fails TGI's route checks: the engine's checks matter
    from orchestrator.smoke.checks import Expectations
    from orchestrator.smoke.engines import checks_for
    from orchestrator.smoke.http import HttpxSmokeHttp
    from orchestrator.smoke.runner import run_smoke

    with HttpxSmokeHttp(vllm.url) as http:
        report = run_smoke(http, Expectations(), timeout=10, checks=checks_for("tgi"))
    failed = {r.name for r in report.results if not r.passed}
    assert {"info", "generate", "generate_stream"} <= failed


def test_load_runs_every_scenario_on_vllm_with_server_counts(tmp_path: Path, vllm: VllmEmulator) -> None:
    req = LoadRequest(url=vllm.url, scenario="mix", users=4, duration_s=None, report_dir=tmp_path,
                      options=("--requests", "24", "--input-tokens", "64", "--output-tokens", "12"))  # fmt: skip
    result = run_load(req, timeout_s=120)
    summary = result.summary
    assert summary["engine"] == "vllm", (tmp_path / "locust.log").read_text()[-2000:]
    figures = summary["figures"]
    assert figures["all"]["succeeded"] == 24 and figures["all"]["failed"] == 0, figures["all"]["errors"]
    samples = read_samples(tmp_path / "samples.jsonl")
    assert {s.scenario for s in samples} == {"generate", "stream", "chat", "client"}
    for sample in samples:  # the server's counts (usage), not the token events seen
        assert sample.ok and sample.output_tokens == 12 and sample.input_tokens, sample
    assert all(s.ttft is not None for s in samples if s.scenario != "generate")
    server = summary["server_metrics"]
    assert server["histograms"]["vllm:e2e_request_latency_seconds"]["count"] >= 24
    assert server["counters"]["vllm:generation_tokens_total"] == 24 * 12
    assert server["failures"] == {}
