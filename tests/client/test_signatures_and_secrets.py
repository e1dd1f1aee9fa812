"""The two clients stay twins, and no secret leaves the process except the API key, as a Bearer header.

The secrets test uses a real loopback HTTP server that records every header it receives, so it checks what
actually goes on the wire (including huggingface_hub's own request path, used by `chat`).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

import orchestrator.client as client_pkg
from orchestrator.client import AsyncTGIClient, TGIClient

HF_TOKEN = "hf_ambientTokenThatMustNeverBeSent"
API_KEY = "sk-orchestrator-secret-key"

PUBLIC = ["generate", "stream", "chat", "chat_stream", "health", "info", "count_tokens", "format_prompt",
          "from_settings", "from_deployment", "endpoints", "budget", "last_stats", "inference_client", "http"]  # fmt: skip


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    out = {}
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or isinstance(inspect.getattr_static(cls, name), property):
            continue
        if callable(member):
            out[name] = inspect.signature(member)
    return out


def test_sync_and_async_public_signatures_match() -> None:
    sync, async_ = _public_methods(TGIClient), _public_methods(AsyncTGIClient)
    lifecycle = {"close": "aclose"}
    assert set(sync) - set(lifecycle) == set(async_) - set(lifecycle.values())
    for name, signature in sync.items():
        twin = async_[lifecycle.get(name, name)]
        assert list(signature.parameters) == list(twin.parameters), name
        for param in signature.parameters.values():
            other = twin.parameters[param.name]
            assert (param.kind, param.default) == (other.kind, other.default), f"{name}.{param.name}"
        method = getattr(AsyncTGIClient, lifecycle.get(name, name))
        is_local = name in ("count_tokens", "format_prompt", "from_settings", "from_deployment", "tokenizer")
        assert inspect.iscoroutinefunction(method) is (not is_local), name
    for attribute in PUBLIC:
        assert hasattr(TGIClient, attribute) and hasattr(AsyncTGIClient, attribute), attribute


def test_package_exports_are_importable() -> None:
    for name in client_pkg.__all__:
        assert getattr(client_pkg, name) is not None


class _Recorder(BaseHTTPRequestHandler):
    """Answers like TGI (generate, stream, chat, chat stream) and records headers of every request."""

    seen: ClassVar[list[dict[str, str]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        if self.path == "/generate":
            self._json({"generated_text": "ok"})
        elif self.path == "/generate_stream":
            event = {"index": 1, "token": {"id": 5, "text": "ok", "logprob": 0, "special": False},
                     "generated_text": "ok", "details": {"finish_reason": "length", "generated_tokens": 1}}  # fmt: skip
            self._sse([b"data: " + json.dumps(event).encode()])
        elif self.path == "/v1/chat/completions" and body.get("stream"):
            chunk = {"object": "chat.completion.chunk", "id": "", "created": 0, "model": "tgi",
                     "system_fingerprint": "3.3.7-native",
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"},
                                  "logprobs": None, "finish_reason": "length"}]}  # fmt: skip
            self._sse([b"data: " + json.dumps(chunk).encode(), b"data: [DONE]"])
        elif self.path == "/v1/chat/completions":
            self._json({"object": "chat.completion", "id": "", "created": 0, "model": "tgi",
                        "system_fingerprint": "3.3.7-native",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                     "logprobs": None, "finish_reason": "length"}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})  # fmt: skip
        else:  # "/" as used by InferenceClient.text_generation
            self._json([{"generated_text": "ok"}])

    def _json(self, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[bytes]) -> None:
        data = b"".join(e + b"\n\n" for e in events)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _exercise_sync(url: str, api_key: str | None) -> None:
    with TGIClient(url, api_key=api_key) as client:
        assert client.generate("x") == "ok"
        assert [e.text for e in client.stream("x")] == ["ok"]
        assert client.chat([{"role": "user", "content": "x"}]).choices[0].message.content == "ok"
        chat_stream = client.chat_stream([{"role": "user", "content": "x"}])
        assert "".join(c.choices[0].delta.content or "" for c in chat_stream) == "ok" == chat_stream.text
        assert client.inference_client.text_generation("x") == "ok"  # the raw huggingface_hub client too


async def _exercise_async(url: str, api_key: str | None) -> None:
    async with AsyncTGIClient(url, api_key=api_key) as client:
        assert await client.generate("x") == "ok"
        assert [e.text async for e in await client.stream("x")] == ["ok"]
        assert (await client.chat([{"role": "user", "content": "x"}])).choices[0].message.content == "ok"
        chunks = [c async for c in await client.chat_stream([{"role": "user", "content": "x"}])]
        assert chunks[0].choices[0].delta.content == "ok"
        assert await client.inference_client.text_generation("x") == "ok"


@pytest.mark.parametrize("api_key", [None, API_KEY], ids=["no-api-key", "api-key"])
def test_hf_token_from_environment_never_reaches_the_endpoint(
    recorder: str, api_key: str | None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    monkeypatch.delenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", raising=False)
    with caplog.at_level(logging.DEBUG):
        _exercise_sync(recorder, api_key)
        asyncio.run(_exercise_async(recorder, api_key))
    assert len(_Recorder.seen) == 10
    for headers in _Recorder.seen:
        assert HF_TOKEN not in json.dumps(headers)
        if api_key is None:
            assert "authorization" not in headers
        else:
            assert headers["authorization"] == f"Bearer {API_KEY}"
    for record in caplog.records:
        assert API_KEY not in record.getMessage() and HF_TOKEN not in record.getMessage()


def test_api_key_not_in_repr_of_client_or_errors(recorder: str) -> None:
    from pydantic import SecretStr

    client = TGIClient(recorder, api_key=SecretStr(API_KEY))
    assert API_KEY not in repr(client) and "api_key=***" in repr(client)
    assert API_KEY not in repr(client.inference_client)
    client.close()
