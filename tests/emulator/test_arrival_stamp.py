"""The request clock starts when the request's bytes are read, before the application gets to it.

Relations only (no timing thresholds): client send <= arrival stamp < the application's own first look <= reply.
`time.perf_counter()` is CLOCK_MONOTONIC on Linux, so stamps of the emulator process compare with the test's.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from orchestrator.emulator.core.arrival import ArrivalStampingProtocol
from orchestrator.emulator.core.http import ARRIVAL_KEY, arrival_of, send_json
from tests.emulator.helpers import get
from tests.fixtures.emulator import EmulatorProcess, free_port

CONCURRENT = 16


def _request(port: int, path: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
    return (head + f"Content-Length: {len(data)}\r\n\r\n").encode() + data


def _read_reply(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return body


def _burst(port: int, payloads: list[bytes]) -> tuple[list[float], list[float], list[bytes]]:
    """Send every payload on its own connection back to back; (send times, reply times, reply bodies)."""
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in payloads]
    try:
        sent = []
        for sock, payload in zip(sockets, payloads, strict=True):
            sent.append(time.perf_counter())
            sock.sendall(payload)
        bodies, received = [], []
        for sock in sockets:
            bodies.append(_read_reply(sock))
            received.append(time.perf_counter())
        return sent, received, bodies
    finally:
        for sock in sockets:
            sock.close()


async def _probe(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app that reports the stamp and its own first look, after a little CPU work per request."""
    seen = time.perf_counter()
    message = await receive()
    busy_until = time.perf_counter() + 0.002  # contention: later requests wait for earlier ones
    while time.perf_counter() < busy_until:
        pass
    stamp = scope["extensions"][ARRIVAL_KEY]["perf_counter"]
    await send_json(send, 200, {"stamp": stamp, "seen": seen, "arrival_of": arrival_of(scope),
                                "body": message.get("body", b"").decode()})  # fmt: skip


@pytest.fixture
def probe_server() -> Iterator[int]:
    port = free_port()
    config = uvicorn.Config(_probe, host="127.0.0.1", port=port, http=ArrivalStampingProtocol, lifespan="off",
                            log_config=None, access_log=False)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def test_stamp_precedes_the_apps_own_view_under_concurrency(probe_server: int) -> None:
    payloads = [_request(probe_server, "/", {"n": index}) for index in range(CONCURRENT)]
    sent, received, bodies = _burst(probe_server, payloads)
    replies = [json.loads(body) for body in bodies]
    for index, reply in enumerate(replies):
        assert json.loads(reply["body"]) == {"n": index}
        assert sent[index] <= reply["stamp"] < reply["seen"] <= received[index]
        assert reply["arrival_of"] == reply["stamp"]  # what the emulator's app uses as the request's arrival


def test_emulator_record_carries_the_read_time(emulator: EmulatorProcess) -> None:
    port = emulator.port
    payloads = [_request(port, "/generate", {"inputs": " ".join(["sea"] * (index + 1)),
                                             "parameters": {"max_new_tokens": 2}}) for index in range(CONCURRENT)]  # fmt: skip
    before = len(get(emulator.url, "/emulator/requests").json()["requests"])
    sent, received, _ = _burst(port, payloads)
    records = get(emulator.url, "/emulator/requests").json()["requests"][before:]
    by_tokens = {record["input_tokens"]: record for record in records}
    for index in range(CONCURRENT):
        record = by_tokens[index + 2]  # BOS + one token per "sea"
        assert sent[index] <= record["arrival_monotonic_s"] <= received[index]
        assert record["arrival_monotonic_s"] + record["e2e_s"] <= received[index]
