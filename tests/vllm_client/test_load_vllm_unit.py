"""The load users' vLLM wire without Locust: bodies, the completions stream reader on vLLM's lines, error bodies,
the /metrics difference with vLLM's names, and engine detection over a real loopback socket."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from orchestrator.load.engines import detect_engine, server_metrics_of, wire_for
from orchestrator.load.prompts import PromptSpec
from orchestrator.load.server_metrics import diff_metrics, parse_prometheus
from orchestrator.load.sse import CompletionStreamReader, parse_error_body

SPEC = PromptSpec(text="Say hi", messages=None, input_tokens=12, max_new_tokens=3)


def test_vllm_bodies_use_its_routes_and_ask_for_usage() -> None:
    wire = wire_for("vllm")
    assert (wire.generate_path, wire.stream_path, wire.chat_path) == (
        "/v1/completions",
        "/v1/completions",
        "/v1/chat/completions",
    )
    assert wire.generate_body(SPEC) == {"prompt": "[INST] Say hi [/INST]", "max_tokens": 3}
    assert wire.stream_body(SPEC)["stream_options"] == {"include_usage": True}
    chat = wire.chat_body(SPEC)
    assert "model" not in chat and chat["messages"] == [{"role": "user", "content": "Say hi"}]


def test_tgi_bodies_are_unchanged() -> None:
    wire = wire_for(None)
    assert wire.generate_body(SPEC) == {
        "inputs": "[INST] Say hi [/INST]",
        "parameters": {"max_new_tokens": 3, "details": True},
    }
    assert wire.chat_body(SPEC)["model"] == "tgi"
    with pytest.raises(ValueError, match="choose one of tgi, vllm"):
        wire_for("sglang")


def _line(event: Any) -> bytes:
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n"


def test_completion_stream_reader_counts_tokens_and_takes_usage() -> None:
    head = {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m"}
    lines = [
        _line({**head, "choices": [{"index": 0, "text": "Hel", "logprobs": None, "finish_reason": None}]}),
        b"\n",
        _line({**head, "choices": [{"index": 0, "text": "lo", "logprobs": None, "finish_reason": None}]}),
        _line({**head, "choices": [{"index": 0, "text": "!", "logprobs": None, "finish_reason": "length"}]}),
        _line(
            {
                **head,
                "choices": [],
                "usage": {"prompt_tokens": 12, "total_tokens": 15, "completion_tokens": 3},
            }
        ),
        b"data: [DONE]\n",
    ]
    reader = CompletionStreamReader(keep_text=True)
    done = [reader.feed(line, float(i)) for i, line in enumerate(lines)]
    reader.digest()
    st = reader.state
    assert done == [False, False, False, False, False, True]
    assert (st.token_events, st.output_tokens, st.input_tokens) == (3, 3, 12)
    assert st.first_token == 0.0 and st.last_token == 3.0
    assert "".join(st.text) == "Hello!" and st.finish_reason == "length"


def test_an_error_event_fails_the_stream() -> None:
    reader = CompletionStreamReader()
    error = {"error": {"message": "engine died", "type": "InternalServerError", "param": None, "code": 500}}
    reader.feed(_line(error), 0.0)
    assert reader.feed(b"data: [DONE]\n", 1.0)
    assert reader.state.error_type == "stream_error" and reader.state.error_message == "engine died"


def test_vllm_error_bodies() -> None:
    body = {"error": {"message": "bad", "type": "BadRequestError", "param": "max_tokens", "code": 400}}
    assert parse_error_body(json.dumps(body).encode()) == ("BadRequestError", "bad")
    assert parse_error_body(b'{"error":"Unauthorized"}') == (None, "Unauthorized")
    assert parse_error_body(b'{"detail":"Not Found"}') == (None, "Not Found")


BEFORE = """vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.5",model_name="m"} 1
vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="m"} 1
vllm:e2e_request_latency_seconds_sum{engine="0",model_name="m"} 0.2
vllm:e2e_request_latency_seconds_count{engine="0",model_name="m"} 1
vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} 1
vllm:generation_tokens_total{engine="0",model_name="m"} 10
"""
AFTER = """vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.5",model_name="m"} 5
vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="m"} 11
vllm:e2e_request_latency_seconds_sum{engine="0",model_name="m"} 6.2
vllm:e2e_request_latency_seconds_count{engine="0",model_name="m"} 11
vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} 6
vllm:request_success_total{engine="0",finished_reason="length",model_name="m"} 2
vllm:request_success_total{engine="0",finished_reason="abort",model_name="m"} 2
vllm:request_success_total{engine="0",finished_reason="error",model_name="m"} 1
vllm:generation_tokens_total{engine="0",model_name="m"} 110
"""


def test_the_metrics_difference_reads_vllm_names_and_failed_reasons() -> None:
    out = diff_metrics(parse_prometheus(BEFORE), parse_prometheus(AFTER), server_metrics_of("vllm"))
    e2e = out["histograms"]["vllm:e2e_request_latency_seconds"]
    assert e2e["count"] == 10 and e2e["mean"] == pytest.approx(0.6)
    assert out["failures"] == {"abort": 2, "error": 1}  # stop and length are successes
    assert out["counters"]["vllm:request_success_total"] == 10
    assert out["counters"]["vllm:generation_tokens_total"] == 100


class _Vllm(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        answers = {"/version": {"version": "0.33.0"}, "/v1/models": {"object": "list", "data": [{"id": "m"}]}}
        body = answers.get(self.path)
        if self.path == "/v1/models" and self.headers.get("Authorization") != "Bearer k":
            self.send_response(401)
            payload = b'{"error":"Unauthorized"}'
        elif body is None:
            self.send_response(404)
            payload = b'{"detail":"Not Found"}'
        else:
            self.send_response(200)
            payload = json.dumps(body).encode()
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextmanager
def _serving() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Vllm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_detection_needs_the_key_for_vllms_models_and_defaults_to_tgi() -> None:
    with _serving() as url:
        assert detect_engine(url, "k") == "vllm"
        assert detect_engine(url, None) == "tgi"  # /v1/models refused: not shown to be vLLM
    assert detect_engine(url, "k", timeout=0.5) == "tgi"  # nothing listening any more
