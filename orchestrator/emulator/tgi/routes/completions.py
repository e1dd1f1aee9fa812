"""`/v1/completions`: prompt string or list (up to `--max-client-batch-size`), streaming and not.

Each prompt takes a permit and runs as its own request; streamed prompts generate together and their chunks
interleave, told apart by `index`. Chunks carry `finish_reason: ""` until the last one, which has the raw reason
(`length`, `eos_token`, `stop_sequence`) and `usage`; `suffix` is refused with 422; `max_tokens` defaults to 100,
as in TGI.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.emulator.core.http import Send, json_text, send_json, sse_start
from orchestrator.emulator.tgi.errors import ApiError
from orchestrator.emulator.tgi.jobs import raise_planned_error, run_job, start_job, timing_headers
from orchestrator.emulator.tgi.openai_common import DONE, chat_error_event, common_params, model_name, usage
from orchestrator.emulator.tgi.service import Job, Service
from orchestrator.emulator.tgi.streaming import PumpResult, end_stream, pump
from orchestrator.tokens import EOS_ID

__all__ = ["DEFAULT_MAX_TOKENS", "completions"]

DEFAULT_MAX_TOKENS = (
    100  # TGI's completions route: `max_tokens.or(Some(100))` (chat uses the v3 default instead)
)


def _completion_request(service: Service, req: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """A typed `CompletionRequest` (`schema.COMPLETION`: `prompt` is a non-empty list) to prompts and parameters."""
    prompts: list[str] = req["prompt"]
    if req["suffix"] is not None:
        raise ApiError(422, "suffix not supported",
                       "Suffix is not supported and can be achieved by preprocessing the prompt.")  # fmt: skip
    limit = service.config.max_client_batch_size
    if len(prompts) > limit:
        raise ApiError(422, "batch size exceeded",
                       f"Number of prompts exceeds the maximum allowed batch size of {limit}")  # fmt: skip
    params = common_params(req)
    params.setdefault("max_new_tokens", DEFAULT_MAX_TOKENS)
    return prompts, params


async def completions(service: Service, req: Mapping[str, Any], send: Send, arrival: float,
                      route: str = "/v1/completions") -> None:  # fmt: skip
    prompts, params = _completion_request(service, req)
    model = model_name(service, req)
    created = int(time.time())
    head = {"object": "text_completion", "id": "", "created": created, "model": model,
            "system_fingerprint": service.fingerprint}  # fmt: skip
    if req["stream"]:
        await _completion_stream(service, prompts, params, send, arrival, head, route)
        return
    jobs: list[Job] = []
    try:
        for prompt in prompts:
            job = await start_job(service, prompt, dict(params), send, arrival, route, stream=False)
            if job is None:
                return
            jobs.append(job)
        for job in jobs:
            await run_job(service, job)
    except ApiError:
        for job in jobs:
            if job.permits and job.best.finish_reason is None:
                service.cancel(job)
        raise
    choices = []
    prompt_tokens = completion_tokens = 0
    for index, job in enumerate(jobs):
        generation = job.best
        choices.append({"index": index, "text": generation.text(), "logprobs": None,
                        "finish_reason": generation.finish_reason or "length"})  # fmt: skip
        prompt_tokens += job.valid.input_length
        completion_tokens += len(generation.ids)
    headers = timing_headers(service, jobs[0])
    for job in jobs:
        service.finish(job)
    totals = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
              "total_tokens": prompt_tokens + completion_tokens}  # fmt: skip
    await send_json(send, 200, {**head, "choices": choices, "usage": totals}, headers)


async def _completion_stream(
    service: Service, prompts: list[str], params: dict[str, Any], send: Send, arrival: float,
    head: dict[str, Any], route: str,
) -> None:  # fmt: skip
    """All prompts generate at once; their chunks interleave, told apart by `index` (TGI merges the streams)."""
    await sse_start(send, [service.compute_type_header, (b"x-accel-buffering", b"no")])
    prefix = json_text(head)[:-1] + ',"choices":['
    jobs: list[Job] = []
    try:
        for prompt in prompts:
            plan = service.begin()
            raise_planned_error(service, plan)
            jobs.append(
                service.submit(prompt, dict(params), arrival=arrival, plan=plan, route=route, stream=True)
            )
    except ApiError as rejected:
        for job in jobs:
            service.cancel(job)
            service.finish(job, status=rejected.status, error_type=rejected.error_type)
        await end_stream(send, chat_error_event(rejected) + DONE)
        return

    def renderer(index: int, job: Job) -> Callable[[int], str]:
        generation = job.generations[0]

        def render(i: int) -> str:
            token_id = generation.ids[i]
            text = '""' if token_id == EOS_ID else service.vocab.json_of(token_id)
            last = generation.finished and i == len(generation.ids) - 1
            finish = json_text(generation.finish_reason) if last else '""'
            tail = f',"usage":{json_text(usage(job, generation))}' if last else ""
            return (f'data: {prefix}{{"index":{index},"text":{text},"logprobs":null,'
                    f'"finish_reason":{finish}}}]{tail}}}\n\n')  # fmt: skip

        return render

    results = await asyncio.gather(
        *(pump(service, job, send, renderer(index, job), chat_error_event) for index, job in enumerate(jobs))
    )
    dropped = any(result == PumpResult.DROPPED for result, _ in results)
    for job, (_, error) in zip(jobs, results, strict=True):
        if dropped:
            service.cancel(job)
            service.finish(job, dropped=True)
        else:
            service.finish(
                job, status=error.status if error else 200, error_type=error.error_type if error else None
            )
    if not dropped:
        await end_stream(send, DONE)
