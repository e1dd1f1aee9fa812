"""`POST /v1/completions` as vLLM 0.33.0 answers it: one or many prompts (text or token ids), `n` choices each.

`max_tokens` defaults to 16 and is clamped to the context left; choices are numbered prompt by prompt. Streams
send one `text_completion` chunk per token (`finish_reason`/`stop_reason` null until the last), an optional usage
chunk (`stream_options.include_usage`), then `data: [DONE]`.
"""

from __future__ import annotations

from typing import Any

from orchestrator.emulator.core.generation import Generation
from orchestrator.emulator.core.http import Scope, Send, json_text, send_json
from orchestrator.emulator.vllm import render
from orchestrator.emulator.vllm.errors import bad_request
from orchestrator.emulator.vllm.pipeline import admit, finish_all, wait_all
from orchestrator.emulator.vllm.sampling import (
    COMPLETION,
    Sampling,
    check_schema,
    check_stream_options,
    resolve_sampling,
)
from orchestrator.emulator.vllm.service import Job, VllmService
from orchestrator.emulator.vllm.streaming import DONE, start, stream_choices

__all__ = ["completions"]

_EMPTY = "Either prompt or prompt_embeds must be provided and non-empty."


def _prompts(service: VllmService, prompt: Any) -> list[tuple[str | None, list[int]]]:
    """(text, token ids) per prompt: a string, a list of strings, a list of ids or a list of id lists."""
    if isinstance(prompt, str):
        prompt = [prompt]
    if not prompt:
        raise bad_request(_EMPTY)
    if all(isinstance(p, int) and not isinstance(p, bool) for p in prompt):
        return [(None, list(prompt))]
    out: list[tuple[str | None, list[int]]] = []
    for item in prompt:
        if isinstance(item, str):
            if not item:
                raise bad_request(_EMPTY)
            out.append((item, service.tokenizer.encode(item, add_bos=True)))
        elif isinstance(item, list) and item and all(isinstance(t, int) for t in item):
            out.append((None, list(item)))
        else:
            raise bad_request(_EMPTY)
    if len(out) > 1024:
        raise bad_request("The number of prompts exceeds the maximum of 1024.", "prompt", len(out))
    return out


def _logprobs(
    service: VllmService, generation: Generation, start: int, end: int, offset: int
) -> dict[str, Any]:
    entries = render.logprob_entries(service, generation, start, end)
    offsets, position = [], offset
    for entry in entries:
        offsets.append(position)
        position += len(entry["token"])
    return {"text_offset": offsets, "token_logprobs": [e["logprob"] for e in entries],
            "tokens": [e["token"] for e in entries], "top_logprobs": [dict(e["top"]) for e in entries]}  # fmt: skip


async def completions(service: VllmService, scope: Scope, body: Any, send: Send, arrival: float) -> None:
    body = check_schema(body, COMPLETION, "prompt")
    stream = bool(body.get("stream"))
    check_stream_options(body)
    if body.get("suffix") is not None:
        raise bad_request("suffix is only supported for models with FIM completion rendering")
    config = service.config
    prompts = _prompts(service, body["prompt"])
    checked: list[tuple[list[int], Sampling]] = [
        (ids, resolve_sampling(body, prompt_tokens=len(ids), max_model_len=config.max_model_len,
                               max_logprobs=config.max_logprobs, default_max=16, max_field="max_tokens",
                               logprobs=body.get("logprobs")))
        for _, ids in prompts
    ]  # fmt: skip
    head, headers = render.response_head(service, scope, body, "cmpl-", "text_completion")
    jobs = await admit(service, send, checked, arrival)
    if jobs is None:
        return
    if stream:
        await _stream(service, jobs, send, head, body, headers)
        return
    await wait_all(service, jobs)
    choices = []
    for job_index, ((text, _), job) in enumerate(zip(prompts, jobs, strict=True)):
        echo = text if body.get("echo") and text is not None else ""
        for index, generation in enumerate(job.generations):
            choices.append({
                "index": job_index * job.sampling.n + index,
                "text": echo + render.output_text(service, job, generation),
                "logprobs": _logprobs(service, generation, 0, len(generation.ids), len(echo))
                if job.sampling.logprobs is not None else None,
                "finish_reason": render.finish_of(generation), "stop_reason": render.stop_reason(generation),
                "token_ids": None, "prompt_logprobs": None, "prompt_token_ids": None,
            })  # fmt: skip
    totals = {"prompt_tokens": 0, "total_tokens": 0, "completion_tokens": 0}
    for job in jobs:
        for key, value in render.usage(job).items():
            if value is not None:
                totals[key] += value
    finish_all(service, jobs)
    await send_json(send, 200, {**head, "choices": choices, "service_tier": None,
                                "system_fingerprint": config.fingerprint,
                                "usage": {**totals, "prompt_tokens_details": None}, "kv_transfer_params": None},
                    headers)  # fmt: skip


async def _stream(service: VllmService, jobs: list[Job], send: Send, head: dict[str, Any], body: dict[str, Any],
                  headers: list[tuple[bytes, bytes]]) -> None:  # fmt: skip
    include_usage, continuous = render.usage_options(service, body)
    prefix = json_text(head)[:-1] + ',"choices":['
    fingerprint = json_text(service.config.fingerprint)
    await start(send, headers)
    pairs = [(job, g) for job in jobs for g in job.generations]

    ended: set[int] = set()

    def chunk(choice: int, i: int | None) -> str:
        """Token `i`'s chunk, or (None) the closing chunk of a sequence ended without a token (an abort)."""
        job, generation = pairs[choice]
        fast = None if i is None or continuous or job.sampling.logprobs is not None else (
            render.middle_token_json(service, generation, i))  # fmt: skip
        if fast is not None:
            return (f'data: {prefix}{{"index":{choice},"text":{fast},"logprobs":null,"finish_reason":null,'
                    f'"stop_reason":null}}]}}\n\n')  # fmt: skip
        text = "" if i is None else render.token_text(service, job, generation, i)
        last = i is None or (generation.finished and i == len(generation.ids) - 1)
        if not text and not last:
            return ""
        if last:
            ended.add(choice)
        logprobs = (json_text(_logprobs(service, generation, i, i + 1, 0))
                    if job.sampling.logprobs is not None and i is not None else "null")  # fmt: skip
        finish = json_text(render.finish_of(generation)) if last else "null"
        reason = json_text(render.stop_reason(generation)) if last else "null"
        tail = ""
        if continuous:
            tail = f',"usage":{json_text(render.usage(job, len(generation.ids) if i is None else i + 1, nulls=False))}'
        elif last and not include_usage:
            tail = f',"system_fingerprint":{fingerprint}'
        return (f'data: {prefix}{{"index":{choice},"text":{json_text(text)},"logprobs":{logprobs},'
                f'"finish_reason":{finish},"stop_reason":{reason}}}]{tail}}}\n\n')  # fmt: skip

    connected, error = await stream_choices(service, jobs, send, chunk)
    finish_all(service, jobs)
    if not connected:
        return
    closing = "" if error else "".join(chunk(c, None) for c in range(len(pairs)) if c not in ended)
    if include_usage and error is None:
        totals = {"prompt_tokens": 0, "total_tokens": 0, "completion_tokens": 0}
        for job in jobs:
            for key in totals:
                totals[key] += render.usage(job)[key]
        closing += f'data: {prefix}],"usage":{json_text(totals)},"system_fingerprint":{fingerprint}}}\n\n'
    await send({"type": "http.response.body", "body": (closing + DONE).encode(), "more_body": False})
