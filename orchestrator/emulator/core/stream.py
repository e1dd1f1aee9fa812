"""The token pump under every streamed response: wait for a sequence's tokens, write them as events, apply faults.

Engine-neutral: the front-end renders each token's event bytes and its engine's error events; the pump only decides
when to write. Several tokens go out in one write when the client is behind; stream faults apply (cut after N
tokens, a stall after the first token, a failure after generation started); a client that went away is noticed
and its sequence cancelled. Keep-alive bytes (TGI's `:` comment) are written while waiting, when the engine sends
any; without them the pump still wakes up to notice a lost client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from orchestrator.emulator.core.faults import FaultPlan
from orchestrator.emulator.core.generation import Generation
from orchestrator.emulator.core.http import Send, abort_connection, client_disconnected

__all__ = ["KeepAlive", "Outcome", "connection_faults", "pump"]


class Outcome(Enum):
    """How a pumped stream ended; the caller writes the closing events."""

    COMPLETED = "completed"
    DROPPED = "dropped"  # the client went away, or a cut fault dropped the connection
    PLANNED_FAILURE = "planned_failure"  # a fault plan's failure struck after the first tokens
    ENGINE_ERROR = "engine_error"  # the sequence failed (`generation.error`)


@dataclass(frozen=True)
class KeepAlive:
    """What to write while no token comes (`None`: nothing) and how often to wake up."""

    body: bytes | None
    seconds: float


async def connection_faults(plan: FaultPlan, send: Send) -> bool:
    """Apply a plan's faults that strike before the first byte: a reset (False: the connection is gone) or a
    slow first byte (waited here)."""
    if plan.reset:
        abort_connection(send, reset=True)
        return False
    if plan.first_byte_delay:
        await asyncio.sleep(plan.first_byte_delay)
    return True


async def _stall(send: Send, seconds: float, keep_alive: KeepAlive) -> None:
    """A stalled GPU: no tokens for `seconds`, only the engine's keep-alive bytes."""
    while seconds > 0:
        step = min(seconds, keep_alive.seconds)
        await asyncio.sleep(step)
        seconds -= step
        if step == keep_alive.seconds and keep_alive.body is not None:
            await send({"type": "http.response.body", "body": keep_alive.body, "more_body": True})


async def pump(
    generation: Generation,
    plan: FaultPlan,
    send: Send,
    render: Callable[[int], str],
    keep_alive: KeepAlive,
    cancel: Callable[[], None],
    on_first: Callable[[float], None] | None = None,
) -> Outcome:
    """Stream `generation`'s tokens through `render(i)` until it ends; `cancel()` stops its job early."""
    consumed = 0
    stalled = plan.stall_seconds <= 0
    failing = plan.failure is not None and plan.fail_mid_generation
    while True:
        if not await generation.wait(consumed, keep_alive.seconds):
            if keep_alive.body is not None:
                await send({"type": "http.response.body", "body": keep_alive.body, "more_body": True})
            if client_disconnected(send):
                cancel()
                return Outcome.DROPPED
            continue
        available = len(generation.ids)
        if available > consumed:
            end = available
            if plan.cut_after is not None and end >= plan.cut_after:
                end = plan.cut_after
            body = "".join([render(i) for i in range(consumed, end)])
            await send({"type": "http.response.body", "body": body.encode(), "more_body": True})
            if not consumed and on_first is not None:
                on_first(time.perf_counter())
            consumed = end
            if plan.cut_after is not None and consumed >= plan.cut_after:
                cancel()
                abort_connection(send, reset=False)
                return Outcome.DROPPED
            if failing:
                cancel()
                return Outcome.PLANNED_FAILURE
            if not stalled:
                stalled = True
                await _stall(send, plan.stall_seconds, keep_alive)
        if generation.error is not None:
            return Outcome.ENGINE_ERROR
        if generation.finished and consumed >= len(generation.ids):
            return Outcome.COMPLETED
        if client_disconnected(send):
            cancel()
            return Outcome.DROPPED
