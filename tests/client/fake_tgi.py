"""A scripted TGI for unit tests, served through `httpx2.MockTransport` (no sockets).

Each request pops the next scripted answer; requests are recorded (method, path, headers, JSON body). Integration
tests use the real emulator process instead; this seam only makes pure-logic tests fast and exact.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2

Answer = Callable[[httpx2.Request], httpx2.Response]


def tgi_error(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, json={"error": message, "error_type": error_type}, headers=headers)

    return answer


def plain(status: int, text: str) -> Answer:
    return lambda request: httpx2.Response(status, text=text)


def generated(text: str = "Hello there", tokens: int = 2) -> Answer:
    def answer(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        payload: dict[str, Any] = {"generated_text": text}
        if body.get("parameters", {}).get("details"):
            payload["details"] = {"finish_reason": "length", "generated_tokens": tokens, "seed": None}
        headers = {
            "x-compute-time": "0.25",
            "x-total-time": "250",
            "x-queue-time": "3",
            "x-generated-tokens": "2",
        }
        return httpx2.Response(200, json=payload, headers=headers)

    return answer


def reset(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError("connection refused", request=request)


def sse_body(
    texts: list[str], *, final: bool = True, error: dict[str, Any] | None = None, space: bool = True
) -> bytes:
    prefix = b"data: " if space else b"data:"
    out = []
    for i, text in enumerate(texts, start=1):
        event: dict[str, Any] = {
            "index": i,
            "token": {"id": 100 + i, "text": text, "logprob": -0.5, "special": False},
            "generated_text": None,
            "details": None,
        }
        if final and i == len(texts):
            event["generated_text"] = "".join(texts)
            event["details"] = {"finish_reason": "length", "generated_tokens": len(texts), "seed": None}
        out.append(prefix + json.dumps(event).encode() + b"\n\n")
    if error is not None:
        out.append(prefix + json.dumps(error).encode() + b"\n\n")
    return b"".join(out)


class _Chunks(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A body delivered in pieces, optionally breaking (like a dropped connection) after them."""

    def __init__(self, chunks: list[bytes], fail: bool) -> None:
        self.chunks = chunks
        self.fail = fail

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.fail:
            raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body")

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        for chunk in self.chunks:
            yield chunk
        if self.fail:
            raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body")


def streamed(texts: list[str], *, cut: bool = False, error: dict[str, Any] | None = None) -> Answer:
    def answer(request: httpx2.Request) -> httpx2.Response:
        body = sse_body(texts, final=not cut and error is None, error=error)
        pieces = [body[i : i + 37] for i in range(0, len(body), 37)]  # split mid-line on purpose
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_Chunks(pieces, cut)
        )

    return answer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeTGI:
    """Answers requests in script order (the last answer repeats) and records them."""

    script: list[Answer]
    requests: list[Recorded] = field(default_factory=list)
    by_host: dict[str, list[Answer]] = field(default_factory=dict)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append(Recorded(request.method, request.url.path, dict(request.headers), body))
        script = self.by_host.get(request.url.netloc.decode(), self.script)
        answer = script.pop(0) if len(script) > 1 else script[0]
        return answer(request)

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self)

    def hosts(self) -> list[str]:
        return [r.headers.get("host", "") for r in self.requests]
