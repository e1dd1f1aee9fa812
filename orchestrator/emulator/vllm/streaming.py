"""vLLM's SSE streams on the core pump: `data: <json>\\n\\n` events, `data: [DONE]`, in-stream error events.

No keep-alive comment unless `--sse-keep-alive-interval N` (then `: keep-alive`). Errors after the 200 header
(a fault striking mid-generation, a dead engine) are `data: {"error": {...}}` followed by `data: [DONE]`. With
`n` > 1 the choices stream together, their events interleaved and told apart by `index`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from orchestrator.emulator.core.http import Send, json_text, sse_start
from orchestrator.emulator.core.stream import KeepAlive, Outcome, pump
from orchestrator.emulator.vllm.errors import VllmError, internal_error, planned_error
from orchestrator.emulator.vllm.service import Job, VllmService

__all__ = ["DONE", "error_event", "start", "stream_choices"]

DONE = "data: [DONE]\n\n"
_SSE_TYPE = (b"content-type", b"text/event-stream; charset=utf-8")


def error_event(error: VllmError) -> str:
    return f"data: {json_text(error.body())}\n\n"


async def start(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    """The 200 head of an event stream (vLLM's content type replaces the core's default)."""
    await sse_start(send, [_SSE_TYPE, *headers])


def _keep_alive(service: VllmService) -> KeepAlive:
    interval = service.config.sse_keep_alive_interval
    return KeepAlive(b": keep-alive\n\n", interval) if interval > 0 else KeepAlive(None, 1.0)


async def stream_choices(
    service: VllmService, jobs: list[Job], send: Send, render: Callable[[int, int], str]
) -> tuple[bool, VllmError | None]:
    """Pump every choice of every job (`render(choice, token)`, choices numbered job by job); returns (client
    still there, the error sent in the stream)."""
    keep_alive = _keep_alive(service)
    plan = jobs[0].plan

    def cancel() -> None:
        for job in jobs:
            service.cancel(job)

    def first(at: float) -> None:
        for job in jobs:
            job.first_sent = job.first_sent or at

    def renderer(choice: int) -> Callable[[int], str]:
        return lambda i: render(choice, i)

    pairs = [g for job in jobs for g in job.generations]
    outcomes = await asyncio.gather(*(
        pump(generation, plan, send, renderer(choice), keep_alive, cancel, first)
        for choice, generation in enumerate(pairs)
    ))  # fmt: skip
    if Outcome.DROPPED in outcomes:
        cancel()
        return False, None
    error: VllmError | None = None
    if Outcome.PLANNED_FAILURE in outcomes:
        error = planned_error(plan)
    elif Outcome.ENGINE_ERROR in outcomes:
        error = internal_error()
    if error is not None:
        cancel()
        await send({"type": "http.response.body", "body": error_event(error).encode(), "more_body": True})
    return True, error
