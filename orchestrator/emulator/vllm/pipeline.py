"""The life of a generation request shared by both routes: faults drawn, admission, waiting, finishing.

A request's fault plan is drawn once (a reset or a slow first byte apply at once; a failure drawn to strike before
generation answers with its status), then each prompt joins the engine as one job. Non-streamed requests wait for
all their sequences; an error then is answered with its status. `finish` always records the metrics.
"""

from __future__ import annotations

import asyncio

from orchestrator.emulator.core.http import Send
from orchestrator.emulator.core.stream import connection_faults
from orchestrator.emulator.vllm.errors import VllmError, internal_error, planned_error
from orchestrator.emulator.vllm.sampling import Sampling
from orchestrator.emulator.vllm.service import Job, VllmService

__all__ = ["admit", "finish_all", "wait_all"]


async def admit(
    service: VllmService, send: Send, prompts: list[tuple[list[int], Sampling]], arrival: float
) -> list[Job] | None:
    """Queue every prompt; None when a reset fault dropped the connection. Raises VllmError."""
    plan = service.begin()
    if not await connection_faults(plan, send):
        return None
    early = planned_error(plan)
    if early is not None and not plan.fail_mid_generation:
        raise early
    jobs: list[Job] = []
    try:
        for prompt_ids, sampling in prompts:
            jobs.append(service.submit(prompt_ids, sampling, arrival=arrival, plan=plan))
    except VllmError:
        finish_all(service, jobs, cancel=True)
        raise
    return jobs


async def wait_all(service: VllmService, jobs: list[Job]) -> None:
    """Wait for every sequence of a non-streamed request; raise the planned or engine error (jobs finished)."""
    plan = jobs[0].plan
    try:
        first = jobs[0].generations[0]
        if plan.failure is not None and plan.fail_mid_generation:
            await first.wait(0)
            error = planned_error(plan)
            assert error is not None
            raise error
        if plan.stall_seconds:
            await first.wait(0)
            await asyncio.sleep(plan.stall_seconds)
        for job in jobs:
            for generation in job.generations:
                await generation.wait_finished()
                if generation.error is not None:
                    raise internal_error()
    except VllmError:
        finish_all(service, jobs, cancel=True)
        raise


def finish_all(service: VllmService, jobs: list[Job], *, cancel: bool = False) -> None:
    for job in jobs:
        if cancel:
            service.cancel(job)
        service.finish(job)
