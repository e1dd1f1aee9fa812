"""Each smoke check against a loopback TGI look-alike: all pass when it behaves, and each fault fails exactly the
check that guards against it (faults the emulator cannot produce live only here)."""

from __future__ import annotations

import time

import pytest

from orchestrator.smoke import CHECKS, CheckStatus, Expectations, HttpxSmokeHttp, run_smoke
from tests.smoke.tgi_stub import StubConfig, tgi_stub

EXPECT = Expectations(
    model_id="TheBloke/Mistral-7B-Instruct-v0.2-AWQ", max_input_tokens=64, max_total_tokens=128
)


def _statuses(url: str, *, api_key: str | None = None, timeout: float = 5.0) -> dict[str, CheckStatus]:
    with HttpxSmokeHttp(url, api_key=api_key) as http:
        report = run_smoke(http, EXPECT, timeout=timeout)
    return {r.name: r.status for r in report.results}


def test_all_checks_pass_against_a_well_behaved_server_with_api_key() -> None:
    with tgi_stub(StubConfig(api_key="s3cret")) as (url, _):
        statuses = _statuses(url, api_key="s3cret")
    assert statuses == {c.name: CheckStatus.PASS for c in CHECKS}


def test_api_key_check_is_skipped_without_a_key_and_the_run_still_passes() -> None:
    with tgi_stub() as (url, _), HttpxSmokeHttp(url) as http:
        report = run_smoke(http, EXPECT, timeout=5)
    assert report.ok
    assert [r.name for r in report.results if r.status is CheckStatus.SKIP] == ["api_key"]


def test_the_key_is_sent_as_bearer_and_left_out_only_by_the_401_check() -> None:
    with tgi_stub(StubConfig(api_key="s3cret")) as (url, cfg):
        _statuses(url, api_key="s3cret")
    posts = [
        (path, headers.get("Authorization")) for method, path, headers in cfg.requests if method == "POST"
    ]
    assert ("/generate", None) in posts
    assert sum(1 for _, auth in posts if auth is None) == 1
    assert all(auth in (None, "Bearer s3cret") for _, auth in posts)


@pytest.mark.parametrize(
    ("fault", "failing"),
    [
        ("unhealthy", "health"),
        ("wrong_model", "info"),
        ("no_details", "generate"),
        ("stream_no_details", "generate_stream"),
        ("chat_no_done", "chat_stream"),
        ("overlong_500", "overlong_prompt"),
        ("no_auth", "api_key"),
        ("no_metrics", "metrics"),
    ],
)
def test_each_fault_fails_exactly_its_check(fault: str, failing: str) -> None:
    with tgi_stub(StubConfig(api_key="s3cret", faults={fault})) as (url, _):
        statuses = _statuses(url, api_key="s3cret")
    assert {n for n, s in statuses.items() if s is CheckStatus.FAIL} == {failing}


def test_a_hanging_validation_fails_on_the_timeout_instead_of_hanging() -> None:
    with tgi_stub(StubConfig(faults={"overlong_hang"})) as (url, _), HttpxSmokeHttp(url) as http:
        start = time.monotonic()
        report = run_smoke(
            http, EXPECT, timeout=1.0, checks=[c for c in CHECKS if c.name == "overlong_prompt"]
        )
    assert time.monotonic() - start < 5
    (result,) = report.results
    assert result.status is CheckStatus.FAIL
    assert "timed out" in result.detail and "1 s" in result.detail


def test_a_stalled_stream_fails_on_the_timeout() -> None:
    with tgi_stub(StubConfig(faults={"stream_hang"})) as (url, _), HttpxSmokeHttp(url) as http:
        report = run_smoke(
            http, EXPECT, timeout=1.0, checks=[c for c in CHECKS if c.name == "generate_stream"]
        )
    (result,) = report.results
    assert result.status is CheckStatus.FAIL and "timed out" in result.detail


def test_wrong_limits_are_named_in_the_detail() -> None:
    with tgi_stub(StubConfig(max_input_tokens=32)) as (url, _), HttpxSmokeHttp(url) as http:
        report = run_smoke(http, EXPECT, timeout=5, checks=[c for c in CHECKS if c.name == "info"])
    assert report.results[0].status is CheckStatus.FAIL
    assert "max_input_tokens is 32, expected 64" in report.results[0].detail


def test_a_server_demanding_a_key_explains_the_401() -> None:
    with tgi_stub(StubConfig(api_key="s3cret")) as (url, _), HttpxSmokeHttp(url) as http:
        report = run_smoke(http, EXPECT, timeout=5)
    generate = next(r for r in report.results if r.name == "generate")
    assert generate.status is CheckStatus.FAIL and "--api-key-env" in generate.detail


def test_nothing_listening_fails_every_check_quickly_with_the_reason() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with HttpxSmokeHttp(f"http://127.0.0.1:{port}", api_key="k") as http:
        report = run_smoke(http, EXPECT, timeout=2)
    assert not report.ok
    assert all(r.status is CheckStatus.FAIL and "no HTTP answer" in r.detail for r in report.results)


def test_limits_come_from_info_when_not_expected() -> None:
    with tgi_stub() as (url, cfg), HttpxSmokeHttp(url) as http:
        report = run_smoke(
            http, Expectations(), timeout=5, checks=[c for c in CHECKS if c.name == "overlong_prompt"]
        )
    assert report.results[0].status is CheckStatus.PASS
    assert ("GET", "/info") in [(m, p) for m, p, _ in cfg.requests]


def test_the_api_key_never_appears_in_the_seam_repr() -> None:
    http = HttpxSmokeHttp("http://127.0.0.1:1", api_key="s3cret")
    try:
        assert "s3cret" not in repr(http) and "***" in repr(http)
    finally:
        http.close()
