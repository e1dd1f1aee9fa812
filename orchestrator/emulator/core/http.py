"""Raw ASGI response helpers: JSON, plain text, empty, SSE. Byte-level so the hot path stays cheap.

Front-ends write SSE events themselves (`data: <json>\\n\\n`, as TGI's axum and vLLM's FastAPI both frame them);
these helpers send the head and the bytes. The helpers that reach below ASGI (`abort_connection`) use uvicorn's
request cycle object to reset or drop a TCP connection for fault injection.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from orchestrator.emulator.core import arrival_watch

__all__ = [
    "ARRIVAL_KEY",
    "Headers",
    "Receive",
    "Scope",
    "Send",
    "abort_connection",
    "arrival_of",
    "client_disconnected",
    "dumps",
    "json_text",
    "send_empty",
    "send_json",
    "send_plain",
    "sse_start",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON_TYPE = (b"content-type", b"application/json")
PLAIN_TYPE = (b"content-type", b"text/plain; charset=utf-8")
SSE_HEADERS: Headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


def json_text(value: Any) -> str:
    """Compact JSON with non-ASCII characters as they are (TGI's `serde_json::to_string`)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


ARRIVAL_KEY = "tgi_emulator.arrival"
"""Scope extension `{"perf_counter": seconds}`: when the request's first bytes were read (`arrival.py`)."""


def arrival_of(scope: Scope) -> float:
    """When the request arrived: the server protocol's stamp, else now (under another ASGI server). Called as a
    handler starts, it also notes the arrival of requests still waiting to be read (`arrival_watch.sweep`)."""
    arrival_watch.sweep()
    stamp = scope.get("extensions", {}).get(ARRIVAL_KEY)
    return float(stamp["perf_counter"]) if stamp else time.perf_counter()


def dumps(value: Any) -> bytes:
    return json_text(value).encode()


async def send_body(send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]]) -> None:
    out = list(headers)
    out.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_json(send: Send, status: int, value: Any, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    await send_body(send, status, dumps(value), [JSON_TYPE, *headers])


async def send_plain(send: Send, status: int, text: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    await send_body(send, status, text.encode(), [PLAIN_TYPE, *headers])


async def send_empty(send: Send, status: int, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    await send_body(send, status, b"", headers)


async def sse_start(send: Send, headers: Sequence[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [*SSE_HEADERS, *headers]})


def _cycle(send: Send) -> Any:
    return getattr(send, "__self__", None)


def abort_connection(send: Send, *, reset: bool) -> bool:
    """Drop the client connection now (RST if `reset`, else FIN mid-body). False if the server is not uvicorn."""
    cycle = _cycle(send)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


def client_disconnected(send: Send) -> bool:
    """Whether uvicorn has seen the client go away (cheap attribute read; False when unknown)."""
    return bool(getattr(_cycle(send), "disconnected", False))
