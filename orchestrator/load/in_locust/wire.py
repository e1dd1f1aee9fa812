"""Lines of a streamed HTTP body, each with the time its bytes reached this machine (the kernel's receive stamp).

Why: one load process reads hundreds of streams on one core. When a decode step sends a token to every stream at
once, the process reads them one after the other, so a stream read late in that burst would be timed late by the
whole burst (several ms at 256 streams: `benchmarks/load_capacity.py`). Linux stamps every received packet
(`SO_TIMESTAMPNS`); reading with `recvmsg` hands that stamp over with the bytes, so each line is timed when it
arrived, however long the process took to get to it. Where the stamp is unavailable (not Linux, or the kernel sent
none) a line is timed when it was read. `LOADGEN_TIMESTAMPS=read` times every line when read (how much later that
is: `benchmarks/load_capacity.py`).

The body is read from geventhttpclient's response object: its socket, parser (`feed`, which undoes the chunked
framing and returns the connection to the pool once the message is complete) and body buffer.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["enable_receive_stamps", "stamped_lines"]

_perf = time.perf_counter
_wall = time.time
# Linux's SO_TIMESTAMPNS (= SCM_TIMESTAMPNS); Python's socket module does not name it.
_SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@ll")
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0
_MODE_ENV = "LOADGEN_TIMESTAMPS"


def _kernel_stamps_wanted() -> bool:
    mode = os.environ.get(_MODE_ENV, "kernel").strip().lower() or "kernel"
    if mode not in ("kernel", "read"):
        raise ValueError(f"{_MODE_ENV}={mode!r}: use `kernel` (the default) or `read`")
    return mode == "kernel"


_SUPPORTED = sys.platform.startswith("linux") and _ANCILLARY > 0 and _kernel_stamps_wanted()


def enable_receive_stamps(sock: Any) -> bool:
    """Ask the kernel to stamp what `sock` receives; False where it cannot (then lines are timed when read)."""
    if not _SUPPORTED:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def stamped_lines(resp: Any, block_size: int, sep: bytes = b"\n") -> Iterator[tuple[bytes, float]]:
    """`(line, perf_counter time it arrived)` for each line of `resp`'s body, until the message is complete.

    A line completed by one read takes that read's stamp; lines already buffered with the headers take the time
    this starts. The limit: TCP keeps one stamp per read, the newest packet's, and merges packets that queue up
    unread, so when the process was away longer than a stream's token gap, its older queued events are timed when
    the newest arrived (still earlier than when read); and a first event that came before the response headers were
    read (the process was away longer than the time to first token) is timed when they were read. Errors close the connection (as geventhttpclient's own
    `readline` does) and propagate.
    """
    sock = resp._sock
    buffer: bytearray = resp._body_buffer
    feed = resp.feed
    stamped = sock is not None and enable_receive_stamps(sock)
    arrived = _perf()
    try:
        while True:
            cut = buffer.find(sep)
            if cut >= 0:
                line = bytes(buffer[: cut + 1])
                del buffer[: cut + 1]
                yield line, arrived
                continue
            if resp.message_complete or sock is None:
                return
            if stamped:
                data, ancillary, _flags, _addr = sock.recvmsg(block_size, _ANCILLARY)
                arrived = _perf()
                for level, kind, raw in ancillary:
                    if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(raw) >= _TIMESPEC.size:
                        seconds, nanoseconds = _TIMESPEC.unpack_from(raw)
                        arrived -= max(0.0, _wall() - (seconds + nanoseconds * 1e-9))
            else:
                data = sock.recv(block_size)
                arrived = _perf()
            feed(data)  # b"" (the peer closed) ends a body that runs to the close, and fails a chunked one
            if not data and not resp.message_complete:
                raise ConnectionError("connection closed before the end of the stream")
    except BaseException:
        resp.release()
        raise
