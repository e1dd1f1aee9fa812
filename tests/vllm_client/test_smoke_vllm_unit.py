"""vLLM's smoke checks on recorded vLLM 0.33 answers, through the `SmokeHttp` seam (no sockets): they pass on
what vLLM sends, each fails on TGI's shape of the same answer, detection picks them, JUnit names them per engine.
The same run against the vLLM emulator as a real process: test_vllm_emulator.py."""

from __future__ import annotations

import json
from typing import Any

from orchestrator.smoke.checks import Expectations
from orchestrator.smoke.engines import checks_for, detect_engine
from orchestrator.smoke.http import HttpReply, SmokeTransportError
from orchestrator.smoke.junit import to_junit_xml
from orchestrator.smoke.results import CheckStatus
from orchestrator.smoke.runner import run_smoke
from orchestrator.smoke.vllm_checks import REQUIRED_METRICS, VLLM_CHECKS

MODEL = "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"
HEAD = {"id": "cmpl-0123456789abcdef", "created": 1, "model": MODEL}
USAGE = {"prompt_tokens": 12, "total_tokens": 15, "completion_tokens": 3}


def _metrics() -> str:
    lines = []
    for name in REQUIRED_METRICS:
        lines.append(f'{name}{{model_name="{MODEL}",engine="0"}} 1.0')
    return "\n".join(lines) + "\n"


def _sse(events: list[Any]) -> tuple[str, ...]:
    out: list[str] = []
    for event in events:
        out += [f"data: {json.dumps(event)}", ""]
    return (*out, "data: [DONE]", "")


class RecordedVllm:
    """A `SmokeHttp` answering as vLLM 0.33 does (key required on /v1 when `api_key`)."""

    def __init__(self, api_key: bool = False, faults: frozenset[str] = frozenset()) -> None:
        self.url = "http://vllm.test:8000"
        self.has_api_key = api_key
        self.faults = faults
        self.paths: list[str] = []

    def get(self, path: str, *, timeout: float, authenticated: bool = True) -> HttpReply:
        self.paths.append(path)
        answers: dict[str, tuple[int, Any]] = {
            "/health": (200, None),
            "/version": (200, {"version": "0.33.0"}),
            "/v1/models": (
                200,
                {"object": "list", "data": [{"id": MODEL, "root": MODEL, "max_model_len": 4096}]},
            ),
        }
        if path == "/metrics":
            return HttpReply(200, {}, _metrics().encode())
        status, body = answers.get(path, (404, {"detail": "Not Found"}))
        return HttpReply(status, {}, b"" if body is None else json.dumps(body).encode())

    def post(self, path: str, payload: Any, *, timeout: float, authenticated: bool = True) -> HttpReply:
        self.paths.append(path)
        if not authenticated and path.startswith("/v1"):
            return HttpReply(401, {}, b'{"error":"Unauthorized"}')
        if payload.get("model") == "tgi":
            error = {
                "message": "The model `tgi` does not exist.",
                "type": "NotFoundError",
                "param": "model",
                "code": 404,
            }
            return HttpReply(404, {}, json.dumps({"error": error}).encode())
        if path == "/v1/completions" and len(payload["prompt"]) > 4096:
            error = {"message": "This model's maximum context length is 4096 tokens. However, your prompt contains "
                     "4113 input tokens", "type": "BadRequestError", "param": "input_tokens", "code": 400}  # fmt: skip
            return HttpReply(400, {}, json.dumps({"error": error}).encode())
        if path == "/v1/completions":
            choice = {"index": 0, "text": "Hello there!", "finish_reason": "length", "stop_reason": None}
            body = {**HEAD, "object": "text_completion", "choices": [choice], "usage": USAGE}
        else:
            message = {"role": "assistant", "content": "Rome."}
            body = {**HEAD, "object": "chat.completion", "choices": [{"index": 0, "message": message,
                    "finish_reason": "stop"}], "usage": USAGE}  # fmt: skip
        return HttpReply(200, {}, json.dumps(body).encode())

    def stream_lines(self, path: str, payload: Any, *, timeout: float) -> HttpReply:
        self.paths.append(path)
        usage = {**HEAD, "choices": [], "usage": USAGE}
        if path == "/v1/completions":
            head = {**HEAD, "object": "text_completion"}
            texts = ["Hello", " there", "!"]
            events = [{**head, "choices": [{"index": 0, "text": t, "finish_reason": "length" if i == 2 else None}]}
                      for i, t in enumerate(texts)]  # fmt: skip
            events.append({**head, **usage})
        else:
            head = {**HEAD, "object": "chat.completion.chunk"}
            events = [{**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
                      {**head, "choices": [{"index": 0, "delta": {"content": "Rome."}, "finish_reason": "stop"}]},
                      {**head, **usage}]  # fmt: skip
        if "no_usage" in self.faults:
            events = events[:-1]
        lines = _sse(events)
        return HttpReply(200, {}, "\n".join(lines).encode(), lines)


EXPECT = Expectations(model_id=MODEL, max_total_tokens=4096)


def test_every_vllm_check_passes_on_what_vllm_sends() -> None:
    report = run_smoke(RecordedVllm(api_key=True), EXPECT, checks=VLLM_CHECKS, engine="vllm")
    assert [(r.name, r.status) for r in report.results] == [
        (c.name, CheckStatus.PASS) for c in VLLM_CHECKS
    ], [r.detail for r in report.results if not r.passed]


def test_a_stream_without_its_usage_chunk_fails_that_check_only() -> None:
    report = run_smoke(
        RecordedVllm(faults=frozenset({"no_usage"})), EXPECT, checks=VLLM_CHECKS, engine="vllm"
    )
    failed = {r.name for r in report.results if r.status is CheckStatus.FAIL}
    assert failed == {"completions_stream"}


def test_wrong_max_model_len_is_named() -> None:
    expect = Expectations(model_id=MODEL, max_total_tokens=32768)
    report = run_smoke(RecordedVllm(), expect, checks=VLLM_CHECKS, engine="vllm")
    models = next(r for r in report.results if r.name == "models")
    assert models.status is CheckStatus.FAIL and "max_model_len is 4096, expected 32768" in models.detail


def test_detection_picks_vllm_and_falls_back_to_tgi() -> None:
    http = RecordedVllm()
    assert detect_engine(http, 1.0) == "vllm"
    assert http.paths == ["/info", "/version", "/v1/models"]
    assert checks_for("vllm") is VLLM_CHECKS

    class Down(RecordedVllm):
        def get(self, path: str, *, timeout: float, authenticated: bool = True) -> HttpReply:
            raise SmokeTransportError("connection refused")

    assert detect_engine(Down(), 1.0) == "tgi"  # TGI's checks then fail one by one, as before


def test_junit_names_vllm_checks_per_engine() -> None:
    xml = to_junit_xml(run_smoke(RecordedVllm(), EXPECT, checks=VLLM_CHECKS, engine="vllm"))
    assert 'classname="orchestrator-smoke.vllm" name="completions_stream"' in xml
    assert '<property name="engine" value="vllm"' in xml
