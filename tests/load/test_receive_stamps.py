"""Item 23: a stream's lines are timed when their bytes arrived, not when a busy load process got to them.

A real HTTP server on a free loopback port writes a chunked event stream; the client (geventhttpclient, as the
Locust users use it) is kept busy for 40 ms after each line was sent before it reads, as a load process is when a
burst of 256 streams' tokens lands at once. The kernel's receive stamp must place the line within 3 ms of its
sending; timing at read would place it 40 ms late.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from geventhttpclient import HTTPClient

from orchestrator.load.in_locust import wire

BUSY = 0.040
LINES = (b'data: {"token":1}\n', b'data: {"token":2}\n', b"data: [DONE]\n")


@pytest.fixture
def stream_server(request: pytest.FixtureRequest) -> Iterator[tuple[int, list[float]]]:
    """Answers one request with LINES as chunks, 80 ms apart (or the gaps the test names); records when each was
    written (perf_counter)."""
    gaps = getattr(request, "param", (0.080,) * len(LINES))
    listener = socket.create_server(("127.0.0.1", 0))
    sent: list[float] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            for line, gap in zip(LINES, gaps, strict=True):
                time.sleep(gap)
                conn.sendall(b"%x\r\n%s\r\n" % (len(line), line))
                sent.append(time.perf_counter())
            conn.sendall(b"0\r\n\r\n")
            time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], sent
    thread.join(5)
    listener.close()


def _read_busily(port: int, busy: float = BUSY + 0.080) -> list[tuple[bytes, float, float]]:
    client = HTTPClient("127.0.0.1", port, concurrency=1, network_timeout=5.0)
    resp = client.get("/generate_stream")
    out = []
    for line, arrived in wire.stamped_lines(resp, 16384):
        out.append((line, arrived, time.perf_counter()))
        time.sleep(busy)  # not a gevent sleep: the process is busy; the next line arrives meanwhile
    client.close()
    return out


def test_lines_carry_the_kernel_receive_time(stream_server: tuple[int, list[float]]) -> None:
    port, sent = stream_server
    got = _read_busily(port)
    assert [line for line, _, _ in got] == list(LINES)
    for (_, arrived, read), wrote in zip(
        got[1:], sent[1:], strict=True
    ):  # lines 2 and 3 waited for the reader
        assert read - wrote > BUSY - 0.005  # the reader really was late
        assert abs(arrived - wrote) < 0.003, f"stamped {1000 * (arrived - wrote):.1f} ms after it was sent"


def test_timed_at_read_without_kernel_stamps(
    stream_server: tuple[int, list[float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wire, "_SUPPORTED", False)
    port, sent = stream_server
    got = _read_busily(port)
    assert [line for line, _, _ in got] == list(LINES)
    assert all(
        arrived - wrote > BUSY - 0.005 for (_, arrived, _), wrote in zip(got[1:], sent[1:], strict=True)
    )


@pytest.mark.parametrize(("value", "kernel"), [("", True), ("kernel", True), ("READ", False)])
def test_timestamp_mode_setting(monkeypatch: pytest.MonkeyPatch, value: str, kernel: bool) -> None:
    monkeypatch.setenv("LOADGEN_TIMESTAMPS", value)
    assert wire._kernel_stamps_wanted() is kernel


def test_bad_timestamp_mode_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADGEN_TIMESTAMPS", "soon")
    with pytest.raises(
        ValueError, match=r"LOADGEN_TIMESTAMPS='soon': use `kernel` \(the default\) or `read`"
    ):
        wire._kernel_stamps_wanted()
