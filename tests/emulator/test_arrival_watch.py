"""The arrival watch notes bytes waiting on a connection at the first sweep after they arrive, and only once."""

from __future__ import annotations

import socket
import sys
import time

import pytest

from orchestrator.emulator.core import arrival_watch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="epoll is Linux's")


def test_waiting_bytes_get_the_sweep_time_and_a_read_consumes_it() -> None:
    server, client = socket.socketpair()
    try:
        arrival_watch.watch(server.fileno(), server)
        arrival_watch.sweep()
        assert arrival_watch.take(server.fileno()) is None  # nothing arrived yet
        sent = time.perf_counter()
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        time.sleep(0.01)
        before_sweep = time.perf_counter()
        arrival_watch.sweep()
        noted = arrival_watch.take(server.fileno())
        assert (
            noted is not None and sent <= before_sweep <= noted
        )  # stamped after the poll saw it, never before
        server.recv(100)
        arrival_watch.sweep()
        assert (
            arrival_watch.take(server.fileno()) is None
        )  # the edge was consumed: nothing stale for the next
        later = time.perf_counter()
        client.sendall(b"next")
        arrival_watch.sweep()
        again = arrival_watch.take(server.fileno())
        assert again is not None and again >= later  # a new arrival, a new stamp
    finally:
        arrival_watch.forget(server.fileno(), server)
        server.close()
        client.close()


def test_a_forgotten_connection_keeps_no_stamp() -> None:
    server, client = socket.socketpair()
    try:
        arrival_watch.watch(server.fileno(), server)
        client.sendall(b"x")
        arrival_watch.sweep()
        arrival_watch.forget(server.fileno(), server)
        assert arrival_watch.take(server.fileno()) is None
        client.sendall(b"y")
        arrival_watch.sweep()
        assert arrival_watch.take(server.fileno()) is None  # no longer watched
    finally:
        server.close()
        client.close()


def test_an_old_connection_does_not_forget_a_newer_one_on_the_same_number() -> None:
    server, client = socket.socketpair()
    try:
        arrival_watch.watch(server.fileno(), "new connection")
        arrival_watch.forget(server.fileno(), "old connection")  # its close was processed late
        client.sendall(b"x")
        arrival_watch.sweep()
        assert arrival_watch.take(server.fileno()) is not None  # still watched for the newer owner
    finally:
        arrival_watch.forget(server.fileno(), "new connection")
        server.close()
        client.close()
