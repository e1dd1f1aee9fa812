"""The SSE pump shared by `/generate_stream`, chat and completion streams.

It waits for the engine's tokens and writes one `data: ...` event per token (several events per write when the
client is behind), applies the stream faults (cut after N tokens, stall after the first token, an error after
generation started) sends TGI's `:` keep-alive comment after 15 s without an event, and notices a client that went away (TGI drops it from the batch: `err="dropped"`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

from orchestrator.emulator.core.http import Send, abort_connection, client_disconnected
from orchestrator.emulator.tgi.errors import ApiError, planned_error
from orchestrator.emulator.tgi.service import Job, Service

__all__ = ["PumpResult", "end_stream", "pump"]

TokenRenderer = Callable[[int], str]
ErrorRenderer = Callable[[ApiError], str]


# axum's Sse KeepAlive default, which TGI uses (the env knob exists so tests need not wait 15 s)
KEEP_ALIVE_SECONDS = float(os.environ.get("EMULATOR_SSE_KEEP_ALIVE_SECONDS", "15"))
KEEP_ALIVE = b":\n\n"


async def _stall(send: Send, seconds: float) -> None:
    """A stalled GPU: no tokens for `seconds`, only TGI's SSE keep-alive comments."""
    while seconds > 0:
        step = min(seconds, KEEP_ALIVE_SECONDS)
        await asyncio.sleep(step)
        seconds -= step
        if step == KEEP_ALIVE_SECONDS:
            await send({"type": "http.response.body", "body": KEEP_ALIVE, "more_body": True})


class PumpResult:
    COMPLETED = "completed"
    DROPPED = "dropped"
    FAILED = "failed"


async def end_stream(send: Send, tail: str = "") -> None:
    await send({"type": "http.response.body", "body": tail.encode(), "more_body": False})


async def pump(
    service: Service, job: Job, send: Send, render: TokenRenderer, render_error: ErrorRenderer
) -> tuple[str, ApiError | None]:
    """Stream `job.best`'s tokens; returns (result, error). The caller sends the closing events."""
    generation = job.generations[0]
    plan = job.plan
    planned = planned_error(plan)
    consumed = 0
    stalled = plan.stall_seconds <= 0
    while True:
        if not await generation.wait(consumed, KEEP_ALIVE_SECONDS):
            await send({"type": "http.response.body", "body": KEEP_ALIVE, "more_body": True})
            if client_disconnected(send):
                service.cancel(job)
                return PumpResult.DROPPED, None
            continue
        available = len(generation.ids)
        if available > consumed:
            end = available
            if plan.cut_after is not None and end >= plan.cut_after:
                end = plan.cut_after
            body = "".join([render(i) for i in range(consumed, end)])
            await send({"type": "http.response.body", "body": body.encode(), "more_body": True})
            if not consumed:
                job.first_sent = time.perf_counter()
            consumed = end
            if plan.cut_after is not None and consumed >= plan.cut_after:
                service.cancel(job)
                abort_connection(send, reset=False)
                return PumpResult.DROPPED, None
            if planned is not None and plan.fail_mid_generation:
                service.cancel(job)
                service.fail(planned)
                await send({"type": "http.response.body", "body": render_error(planned).encode(),
                            "more_body": True})  # fmt: skip
                return PumpResult.FAILED, planned
            if not stalled:
                stalled = True
                await _stall(send, plan.stall_seconds)
        if generation.error is not None:
            error = ApiError(424, "generation", generation.error, "generation")
            service.fail(error)
            await send(
                {"type": "http.response.body", "body": render_error(error).encode(), "more_body": True}
            )
            return PumpResult.FAILED, error
        if generation.finished and consumed >= len(generation.ids):
            return PumpResult.COMPLETED, None
        if client_disconnected(send):
            service.cancel(job)
            return PumpResult.DROPPED, None
