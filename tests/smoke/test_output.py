"""SSE parsing, JUnit XML, JSON/table data: pure functions over values."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from orchestrator.smoke.checks import metric_names
from orchestrator.smoke.junit import to_junit_xml
from orchestrator.smoke.render import summary_line, table_rows, to_json_data
from orchestrator.smoke.results import CheckResult, CheckStatus, SmokeReport
from orchestrator.smoke.sse import SseFormatError, data_payloads, json_events

REPORT = SmokeReport(
    url="http://127.0.0.1:8080",
    started_at="2026-11-27T07:00:00+00:00",
    results=(
        CheckResult("health", "GET /health is 200", CheckStatus.PASS, 0.0123, "HTTP 200"),
        CheckResult("info", "/info ...", CheckStatus.FAIL, 0.5, "model_id is 'a' <&>, expected 'b'"),
        CheckResult("api_key", "401 ...", CheckStatus.SKIP, 0.0, "no API key configured"),
    ),
)


def test_sse_accepts_both_framings_and_drops_comments() -> None:
    lines = ['data:{"a":1}', "", ": keep-alive", 'data: {"a":2}', "", "data: [DONE]", ""]
    assert data_payloads(lines) == ['{"a":1}', '{"a":2}', "[DONE]"]
    assert json_events(lines) == ([{"a": 1}, {"a": 2}], True)


def test_sse_rejects_non_json_and_data_after_done() -> None:
    with pytest.raises(SseFormatError):
        json_events(["data: nope"])
    with pytest.raises(SseFormatError):
        json_events(["data: [DONE]", "data: {}"])
    with pytest.raises(SseFormatError):
        json_events(["garbage line"])


def test_metric_names_fold_histogram_suffixes() -> None:
    text = '# HELP x\n# TYPE tgi_queue_size gauge\ntgi_queue_size 0\ntgi_request_duration_bucket{le="1"} 2\n'
    names = metric_names(text)
    assert {"tgi_queue_size", "tgi_request_duration"} <= names
    assert "tgi_request_success" not in names


def test_junit_xml_has_one_testcase_per_check_with_failure_and_skip() -> None:
    root = ET.fromstring(to_junit_xml(REPORT))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == ["health", "info", "api_key"]
    failure = cases["info"].find("failure")
    assert failure is not None and failure.text == "model_id is 'a' <&>, expected 'b'"
    assert cases["api_key"].find("skipped") is not None
    assert cases["health"].find("failure") is None and cases["health"].get("time") == "0.012"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"url": "http://127.0.0.1:8080"}


def test_json_data_and_table_rows() -> None:
    data = to_json_data(REPORT)
    assert data["ok"] is False and (data["passed"], data["failed"], data["skipped"]) == (1, 1, 1)
    assert [c["status"] for c in data["checks"]] == ["pass", "fail", "skip"]
    assert table_rows(REPORT)[0] == ("PASS", "GET /health is 200", "12 ms", "HTTP 200")
    assert summary_line(REPORT).startswith("SMOKE FAILED: 1 passed, 1 failed, 1 skipped")


def test_a_report_with_only_skips_is_ok_but_an_empty_one_is_not() -> None:
    skip = CheckResult("api_key", "t", CheckStatus.SKIP, 0.0, "d")
    assert SmokeReport("u", "t", (skip,)).ok
    assert not SmokeReport("u", "t", ()).ok


def test_public_names_resolve() -> None:
    import orchestrator.launch.compose as compose_render
    import orchestrator.smoke as smoke

    for module in (smoke, compose_render):
        assert len(set(module.__all__)) == len(module.__all__)
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
