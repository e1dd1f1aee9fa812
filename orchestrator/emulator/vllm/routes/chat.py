"""`POST /v1/chat/completions` as vLLM 0.33.0 answers it, with Mistral's `[INST]` chat template.

The messages are rendered by the model's template (`orchestrator.tokens.format_chat`, BOS inside it, so the prompt
is tokenized without special tokens); a template error is a 400 with its text. `max_completion_tokens` wins over
the deprecated `max_tokens`; with neither, the sequence may use the whole context left. Streams start each choice
with `delta: {role: assistant, content: ""}`, then one content delta per token; the last carries `finish_reason`.
"""

from __future__ import annotations

from typing import Any

from orchestrator.emulator.core.generation import Generation
from orchestrator.emulator.core.http import Scope, Send, json_text, send_json
from orchestrator.emulator.vllm import render
from orchestrator.emulator.vllm.errors import bad_request
from orchestrator.emulator.vllm.pipeline import admit, finish_all, wait_all
from orchestrator.emulator.vllm.prompts import chat_prompt
from orchestrator.emulator.vllm.sampling import CHAT, check_schema, check_stream_options, resolve_sampling
from orchestrator.emulator.vllm.service import Job, VllmService
from orchestrator.emulator.vllm.streaming import DONE, start, stream_choices

__all__ = ["chat_completions"]


def _logprobs(service: VllmService, generation: Generation, start: int, end: int) -> dict[str, Any]:
    content = []
    for entry in render.logprob_entries(service, generation, start, end):
        token = entry["token"]
        content.append({"token": token, "logprob": entry["logprob"], "bytes": list(token.encode()),
                        "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode())}
                                         for t, lp in entry["top"]]})  # fmt: skip
    return {"content": content}


async def chat_completions(service: VllmService, scope: Scope, body: Any, send: Send, arrival: float) -> None:
    body = check_schema(body, CHAT, "messages")
    stream = bool(body.get("stream"))
    config = service.config
    check_stream_options(body)
    if body.get("tool_choice") == "auto":
        raise bad_request(
            '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
        )
    _, ids = chat_prompt(service, body)
    logprobs = int(body.get("top_logprobs") or 0) if body.get("logprobs") else None
    field = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    sampling = resolve_sampling(body, prompt_tokens=len(ids), max_model_len=config.max_model_len,
                                max_logprobs=config.max_logprobs, default_max=None, max_field=field,
                                logprobs=logprobs)  # fmt: skip
    head, headers = render.response_head(service, scope, body, "chatcmpl-", "chat.completion")
    jobs = await admit(service, send, [(ids, sampling)], arrival)
    if jobs is None:
        return
    job = jobs[0]
    if stream:
        await _stream(service, job, send, {**head, "object": "chat.completion.chunk"}, body, headers)
        return
    await wait_all(service, jobs)
    choices = []
    for index, generation in enumerate(job.generations):
        message: dict[str, Any] = {"role": "assistant", "content": render.output_text(service, job, generation), "refusal": None,
                   "annotations": None, "audio": None, "function_call": None, "tool_calls": [], "reasoning": None}  # fmt: skip
        choices.append({
            "index": index, "message": message,
            "logprobs": _logprobs(service, generation, 0, len(generation.ids)) if logprobs is not None else None,
            "finish_reason": render.finish_of(generation), "stop_reason": render.stop_reason(generation),
            "token_ids": None,
        })  # fmt: skip
    usage = render.usage(job)
    finish_all(service, jobs)
    await send_json(send, 200, {**head, "choices": choices, "service_tier": None,
                                "system_fingerprint": config.fingerprint, "usage": usage, "prompt_logprobs": None,
                                "prompt_token_ids": None, "kv_transfer_params": None}, headers)  # fmt: skip


async def _stream(service: VllmService, job: Job, send: Send, head: dict[str, Any], body: dict[str, Any],
                  headers: list[tuple[bytes, bytes]]) -> None:  # fmt: skip
    include_usage, continuous = render.usage_options(service, body)
    prefix = json_text(head)[:-1] + ',"choices":['
    fingerprint = json_text(service.config.fingerprint)
    want_logprobs = job.sampling.logprobs is not None
    await start(send, headers)
    opening = "".join(f'data: {prefix}{{"index":{index},"delta":{{"role":"assistant","content":""}},'
                      f'"logprobs":null,"finish_reason":null}}]}}\n\n' for index in range(len(job.generations)))  # fmt: skip
    await send({"type": "http.response.body", "body": opening.encode(), "more_body": True})

    ended: set[int] = set()

    def chunk(choice: int, i: int | None) -> str:
        """Token `i`'s chunk, or (None) the closing chunk of a sequence ended without a token (an abort)."""
        generation = job.generations[choice]
        fast = (
            None
            if i is None or continuous or want_logprobs
            else render.middle_token_json(service, generation, i)
        )
        if fast is not None:
            return (f'data: {prefix}{{"index":{choice},"delta":{{"content":{fast}}},"logprobs":null,'
                    f'"finish_reason":null}}]}}\n\n')  # fmt: skip
        text = "" if i is None else render.token_text(service, job, generation, i)
        last = i is None or (generation.finished and i == len(generation.ids) - 1)
        if last:
            ended.add(choice)
        logprobs = (
            json_text(_logprobs(service, generation, i, i + 1)) if want_logprobs and i is not None else "null"
        )
        finish = json_text(render.finish_of(generation)) if last else "null"
        reason = f',"stop_reason":{json_text(render.stop_reason(generation))}' if last else ""
        tail = ""
        if continuous:
            tail = f',"usage":{json_text(render.usage(job, len(generation.ids) if i is None else i + 1, nulls=False))}'
        elif last and not include_usage:
            tail = f',"system_fingerprint":{fingerprint}'
        return (f'data: {prefix}{{"index":{choice},"delta":{{"content":{json_text(text)}}},"logprobs":{logprobs},'
                f'"finish_reason":{finish}{reason}}}]{tail}}}\n\n')  # fmt: skip

    connected, error = await stream_choices(service, [job], send, chunk)
    finish_all(service, [job])
    if not connected:
        return
    closing = "" if error else "".join(chunk(c, None) for c in range(len(job.generations)) if c not in ended)
    if include_usage and error is None:
        closing += (f'data: {prefix}],"usage":{json_text(render.usage(job, nulls=False))},'
                   f'"system_fingerprint":{fingerprint}}}\n\n')  # fmt: skip
    await send({"type": "http.response.body", "body": (closing + DONE).encode(), "more_body": False})
