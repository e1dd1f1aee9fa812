"""A tiny TGI 3.3.x look-alike on a loopback socket, with switchable faults, for breaking one smoke check at a time.

Shapes follow the reference (tgi-server.md §4-§6): `/info` fields, generate details, SSE `data: ` framing with no
`[DONE]` on generate streams, chat chunks ending in `data: [DONE]`, 422 `validation` bodies, 401 with an empty body,
counters without `_total`. It generates a fixed word sequence; it is no emulator, only a fault bench for faults the
real emulator cannot be asked to produce.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WORDS = ["Hello", " there", ",", " nice", " to", " meet", " you", "!"]
CHAT_HEAD = {"id": "", "created": 0, "model": "tgi", "system_fingerprint": "3.3.6-dev0-native"}
"""Fields every chat completion and chunk carries after `object`."""


@dataclass
class StubConfig:
    model_id: str = "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"
    max_input_tokens: int = 64
    max_total_tokens: int = 128
    api_key: str | None = None
    faults: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    config: StubConfig

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode())

    def _authorised(self) -> bool:
        key = self.config.api_key
        if key is None or "no_auth" in self.config.faults:
            return True
        return self.headers.get("Authorization", "").lower() == f"bearer {key}".lower()

    def do_GET(self) -> None:
        faults = self.config.faults
        self.config.requests.append(("GET", self.path, dict(self.headers)))
        if self.path == "/health":
            self._send(503 if "unhealthy" in faults else 200, b"")
        elif self.path == "/info":
            info = {
                "model_id": "other/model" if "wrong_model" in faults else self.config.model_id,
                "max_input_tokens": self.config.max_input_tokens,
                "max_total_tokens": self.config.max_total_tokens,
                "max_concurrent_requests": 128,
                "version": "3.3.6-dev0",
                "router": "text-generation-router",
            }
            self._json(200, info)
        elif self.path == "/metrics":
            names = [
                "tgi_request_count",
                "tgi_request_success",
                "tgi_request_failure",
                "tgi_queue_size",
                "tgi_batch_current_size",
            ]
            hist = [
                "tgi_request_duration",
                "tgi_request_validation_duration",
                "tgi_request_queue_duration",
                "tgi_request_inference_duration",
                "tgi_request_mean_time_per_token_duration",
                "tgi_request_input_length",
                "tgi_request_generated_tokens",
            ]
            if "no_metrics" in faults:
                names, hist = names[:1], []
            lines = [f"# TYPE {n} counter\n{n} 1" for n in names]
            lines += [
                f'# TYPE {h} histogram\n{h}_bucket{{le="+Inf"}} 1\n{h}_sum 0.1\n{h}_count 1' for h in hist
            ]
            self._send(200, ("\n".join(lines) + "\n").encode(), "text/plain; version=0.0.4")
        else:
            self._send(404, b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.config.requests.append(("POST", self.path, dict(self.headers)))
        faults = self.config.faults
        if not self._authorised():
            self._send(401, b"", "text/plain")
            return
        if self.path in ("/generate", "/generate_stream"):
            inputs = str(body.get("inputs", ""))
            n_input = len(inputs.split())
            if n_input > self.config.max_input_tokens:
                if "overlong_hang" in faults:
                    time.sleep(30)
                status = 500 if "overlong_500" in faults else 422
                kind = "incomplete_generation" if status == 500 else "validation"
                self._json(
                    status,
                    {
                        "error": f"Input validation error: `inputs` must have less than "
                        f"{self.config.max_input_tokens} tokens. Given: {n_input}",
                        "error_type": kind,
                    },
                )
                return
            params = body.get("parameters") or {}
            n = min(int(params.get("max_new_tokens", 8)), len(WORDS))
            if self.path == "/generate":
                self._generate(n, bool(params.get("details")))
            else:
                self._stream(
                    [self._token_event(i, n, bool(params.get("details"))) for i in range(n)], done=False
                )
        elif self.path == "/v1/chat/completions":
            n = min(int(body.get("max_tokens", 8)), len(WORDS))
            if body.get("stream"):
                chunks = [self._chunk(i, n) for i in range(n)]
                self._stream(chunks, done="chat_no_done" not in faults)
            else:
                content = "".join(WORDS[:n])
                self._json(
                    200,
                    {
                        "object": "chat.completion",
                        **CHAT_HEAD,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "logprobs": None,
                                "finish_reason": "length",
                            }
                        ],
                        "usage": {"prompt_tokens": 20, "completion_tokens": n, "total_tokens": 20 + n},
                    },
                )
        else:
            self._send(404, b"")

    def _generate(self, n: int, details: bool) -> None:
        out: dict[str, Any] = {"generated_text": "".join(WORDS[:n])}
        if details and "no_details" not in self.config.faults:
            out["details"] = {
                "finish_reason": "length",
                "generated_tokens": n,
                "seed": None,
                "prefill": [],
                "tokens": [
                    {"id": 100 + i, "text": WORDS[i], "logprob": -0.1, "special": False} for i in range(n)
                ],
            }
        self._json(200, out)

    def _token_event(self, i: int, n: int, details: bool) -> dict[str, Any]:
        last = i == n - 1
        event: dict[str, Any] = {
            "index": i,
            "token": {"id": 100 + i, "text": WORDS[i], "logprob": -0.1, "special": False},
            "top_tokens": None,
            "generated_text": None,
            "details": None,
        }
        if last:
            event["generated_text"] = "".join(WORDS[:n])
            if details and "stream_no_details" not in self.config.faults:
                event["details"] = {
                    "finish_reason": "length",
                    "generated_tokens": n,
                    "seed": None,
                    "input_length": 12,
                }
        return event

    def _chunk(self, i: int, n: int) -> dict[str, Any]:
        return {
            "object": "chat.completion.chunk",
            **CHAT_HEAD,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": WORDS[i]},
                    "logprobs": None,
                    "finish_reason": "length" if i == n - 1 else None,
                }
            ],
            "usage": None,
        }

    def _stream(self, events: list[dict[str, Any]], *, done: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        if "stream_hang" in self.config.faults:
            self.wfile.write(f"data: {json.dumps(events[0])}\n\n".encode())
            self.wfile.flush()
            time.sleep(30)
        for event in events:
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        if done:
            self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


@contextmanager
def tgi_stub(config: StubConfig | None = None) -> Iterator[tuple[str, StubConfig]]:
    """Serve the stub on 127.0.0.1:<free port>; yields (base URL, live config: faults can change mid-test)."""
    cfg = config or StubConfig()
    handler = type("Handler", (_Handler,), {"config": cfg})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", cfg
    finally:
        server.shutdown()
        server.server_close()
