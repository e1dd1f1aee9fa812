"""Noticing requests that wait to be read, so a burst's late readers still get their true arrival time.

When many requests arrive together, the event loop reads one connection, runs that request's handler, and only
then reads the next: the read of the 64th is milliseconds after its bytes arrived. A second, edge-triggered epoll
over every open connection is polled (without waiting) whenever the emulator's code runs, at each read and at the
start of each request's handler; a connection found with bytes waiting gets that moment as its arrival, and its
read later takes it. Linux only (epoll); elsewhere arrivals are stamped when read.
"""

from __future__ import annotations

import contextlib
import select
import time

__all__ = ["forget", "sweep", "take", "watch"]

_EDGE_IN = getattr(select, "EPOLLIN", 0) | getattr(select, "EPOLLET", 0)
_poller = select.epoll() if hasattr(select, "epoll") else None
_waiting: dict[int, float] = {}
_owner: dict[int, object] = {}


def watch(fd: int, owner: object) -> None:
    """Start noticing bytes arriving on connection `fd`, which `owner` (its protocol) reads."""
    if _poller is None:
        return
    _waiting.pop(fd, None)
    _owner[fd] = owner  # a reused descriptor number carries nothing of the connection that had it
    try:
        _poller.register(fd, _EDGE_IN)
    except FileExistsError:  # the old connection on this number was not forgotten yet
        _poller.modify(fd, _EDGE_IN)


def forget(fd: int, owner: object) -> None:
    """`owner`'s connection is closed: stop watching it (unless the number already serves a newer connection)."""
    if _owner.get(fd) is not owner:
        return
    del _owner[fd]
    _waiting.pop(fd, None)
    if _poller is not None:
        with contextlib.suppress(OSError, ValueError):  # already closed, or never watched
            _poller.unregister(fd)


def sweep() -> None:
    """Note now as the arrival of bytes on every watched connection where some arrived since it was last read.

    The clock is read after the poll: a time read before it could precede bytes the poll then finds."""
    if _poller is None:
        return
    events = _poller.poll(0)
    if events:
        stamp = time.perf_counter()
        for fd, _ in events:
            _waiting.setdefault(fd, stamp)


def take(fd: int) -> float | None:
    """The noted arrival of what is being read on `fd` now (None: nothing was noted before this read)."""
    return _waiting.pop(fd, None)
