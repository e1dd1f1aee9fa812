"""TGI's side of the SSE pump shared by `/generate_stream`, chat and completion streams.

The core's pump (`core/stream.py`) writes the token events and applies the stream faults; this adds TGI's `:`
keep-alive comment after 15 s without an event, its error events (424 for a failed sequence) and its failure
counting (a client that went away is `err="dropped"`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from orchestrator.emulator.core.http import Send
from orchestrator.emulator.core.stream import KeepAlive, Outcome
from orchestrator.emulator.core.stream import pump as core_pump
from orchestrator.emulator.tgi.errors import ApiError, planned_error
from orchestrator.emulator.tgi.service import Job, Service

__all__ = ["PumpResult", "end_stream", "pump"]

TokenRenderer = Callable[[int], str]
ErrorRenderer = Callable[[ApiError], str]


# axum's Sse KeepAlive default, which TGI uses (the env knob exists so tests need not wait 15 s)
KEEP_ALIVE_SECONDS = float(os.environ.get("EMULATOR_SSE_KEEP_ALIVE_SECONDS", "15"))
KEEP_ALIVE = b":\n\n"
_KEEP_ALIVE = KeepAlive(KEEP_ALIVE, KEEP_ALIVE_SECONDS)


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

    def first_sent(at: float) -> None:
        job.first_sent = at

    outcome = await core_pump(job.generations[0], job.plan, send, render, _KEEP_ALIVE,
                              lambda: service.cancel(job), first_sent)  # fmt: skip
    if outcome is Outcome.COMPLETED:
        return PumpResult.COMPLETED, None
    if outcome is Outcome.DROPPED:
        return PumpResult.DROPPED, None
    if outcome is Outcome.PLANNED_FAILURE:
        error = planned_error(job.plan)
        assert error is not None
    else:
        error = ApiError(424, "generation", job.generations[0].error or "", "generation")
    service.fail(error)
    await send({"type": "http.response.body", "body": render_error(error).encode(), "more_body": True})
    return PumpResult.FAILED, error
