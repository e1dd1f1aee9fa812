"""The life of one generation job, shared by every route: faults drawn, submit, wait, TGI's timing headers.

Each route module (`routes/native`, `routes/openai`, `routes/completions`) shapes its own bodies; what they all do
with a job before and after lives here, so route modules never import one another.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from orchestrator.emulator.core.faults import FaultPlan
from orchestrator.emulator.core.http import Headers, Send, sse_start
from orchestrator.emulator.core.stream import connection_faults
from orchestrator.emulator.tgi.errors import ApiError, planned_error
from orchestrator.emulator.tgi.service import Job, Service

__all__ = ["begin_plan", "begin_stream", "raise_planned_error", "run_job", "start_job", "timing_headers"]


def timing_headers(service: Service, job: Job) -> Headers:
    """TGI's headers on non-streamed answers."""
    best = job.best
    end = time.perf_counter()
    total = end - job.arrival
    validation = job.validated - job.arrival
    queue = best.queue_seconds
    inference = end - best.admitted_at if best.admitted_at else 0.0
    generated = len(best.ids)
    per_token = inference / generated if generated else 0.0
    return [
        service.compute_type_header,
        (b"x-compute-time", repr(total).encode()),
        (b"x-compute-characters", str(job.compute_characters).encode()),
        (b"x-total-time", str(int(total * 1000)).encode()),
        (b"x-validation-time", str(int(validation * 1000)).encode()),
        (b"x-queue-time", str(int(queue * 1000)).encode()),
        (b"x-inference-time", str(int(inference * 1000)).encode()),
        (b"x-time-per-token", str(int(per_token * 1000)).encode()),
        (b"x-prompt-tokens", str(job.valid.input_length).encode()),
        (b"x-generated-tokens", str(generated).encode()),
    ]


async def run_job(service: Service, job: Job) -> None:
    """Wait for every sequence of a non-streamed job; raise the planned or engine error."""
    plan = job.plan
    planned = planned_error(plan)
    try:
        if planned is not None and plan.fail_mid_generation:
            await job.generations[0].wait(0)
            raise planned
        if plan.stall_seconds:
            await job.generations[0].wait(0)
            await asyncio.sleep(plan.stall_seconds)
        for generation in job.generations:
            await generation.wait_finished()
            if generation.error is not None:
                raise ApiError(424, "generation", generation.error, "generation")
    except ApiError as error:
        service.cancel(job)
        service.fail(error)
        service.finish(job, status=error.status, error_type=error.error_type)
        raise


async def begin_plan(service: Service, send: Send) -> FaultPlan | None:
    """Count the request and draw its faults; apply a connection reset or a slow first byte. None = reset."""
    plan = service.begin()
    return plan if await connection_faults(plan, send) else None


async def begin_stream(service: Service, send: Send, characters: int) -> FaultPlan | None:
    """`begin_plan`, then the SSE response head (sent before any error: TGI reports stream errors as events)."""
    plan = await begin_plan(service, send)
    if plan is not None:
        await sse_start(send, [service.compute_type_header, (b"x-compute-characters", str(characters).encode()),
                               (b"x-accel-buffering", b"no")])  # fmt: skip
    return plan


def raise_planned_error(service: Service, plan: FaultPlan) -> None:
    """Raise (and count) a fault drawn to fail the request before generation starts."""
    planned = planned_error(plan)
    if planned is not None and not plan.fail_mid_generation:
        service.fail(planned)
        raise planned


async def start_job(
    service: Service, inputs: str, params: Mapping[str, Any], send: Send, arrival: float, route: str,
    *, stream: bool, add_special_tokens: bool = True,
) -> Job | None:  # fmt: skip
    """Common prologue: faults drawn, reset/slow first byte applied, then submit. None = connection reset."""
    plan = await begin_plan(service, send)
    if plan is None:
        return None
    raise_planned_error(service, plan)
    return service.submit(inputs, params, arrival=arrival, plan=plan, route=route, stream=stream,
                          add_special_tokens=add_special_tokens)  # fmt: skip
