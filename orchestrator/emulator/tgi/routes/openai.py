"""OpenAI-compatible routes: `/v1/chat/completions`, `/v1/completions`, `/chat_tokenize`, `/v1/models`.

Mapping as TGI 3.3.x: `max_tokens` (alias `max_completion_tokens`) -> max_new_tokens; `temperature: 0` -> greedy,
otherwise sampling; `presence_penalty` p -> repetition_penalty p + 2; `top_logprobs` -> top_n_tokens; `n` and
`logit_bias` ignored; `tools` and `response_format` are mutually exclusive. Chat prompts are rendered with
Mistral's `[INST]` template (BOS inside the template, so no second BOS). Streams end with `data: [DONE]`; errors
inside chat/completion streams are `{"error": {"message", "http_status_code": 422}}` events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from orchestrator.emulator.core.generation import Generation, prompt_seed
from orchestrator.emulator.core.http import Send, json_text, send_json
from orchestrator.emulator.tgi.errors import ApiError, template_error
from orchestrator.emulator.tgi.jobs import (
    begin_stream,
    raise_planned_error,
    run_job,
    start_job,
    timing_headers,
)
from orchestrator.emulator.tgi.openai_common import DONE, chat_error_event, common_params, model_name, usage
from orchestrator.emulator.tgi.service import Service
from orchestrator.emulator.tgi.streaming import PumpResult, end_stream, pump
from orchestrator.emulator.tgi.tokenize import tokenize_text
from orchestrator.emulator.tgi.tools import ToolCallPlan, plan_tool_call, select_function
from orchestrator.tokens import EOS_ID, ChatTemplateError, format_chat

__all__ = ["chat_completions", "chat_tokenize", "models"]

_CHAT_FINISH = {"eos_token": "stop", "length": "length", "stop_sequence": "stop_sequence"}


def _chat_prompt(req: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    params = common_params(req)
    if req["tools"] and req["response_format"] is not None:
        raise ApiError(422, "tool_error", "Grammar and tools are mutually exclusive", "validation")
    if req["logprobs"] and req["top_logprobs"]:
        params["top_n_tokens"] = req["top_logprobs"]
    if req["response_format"] is not None:
        params["grammar"] = dict(req["response_format"])
    try:
        prompt = format_chat(req["messages"])
    except ChatTemplateError as exc:
        raise template_error(str(exc)) from None
    return prompt, params


def _logprobs(service: Service, generation: Generation, start: int, end: int) -> dict[str, Any]:
    content = []
    for i in range(start, end):
        top = generation.top_tokens[i] if generation.top_tokens else []
        content.append({
            "token": service.vocab.text_of(generation.ids[i]),
            "logprob": generation.logprobs[i],
            "top_logprobs": [{"token": service.vocab.text_of(t), "logprob": lp} for t, lp in top],
        })  # fmt: skip
    return {"content": content}


def _tool_plan(
    service: Service, req: Mapping[str, Any], prompt: str, params: dict[str, Any]
) -> ToolCallPlan | None:
    """Pick the called function (422 `tool_error` for an unknown name) and size generation to its arguments."""
    function = select_function(req)
    if function is None:
        return None
    seed = params.get("seed")
    if seed is None:
        seed = prompt_seed(service.tokenizer.encode(prompt, add_bos=False))
    tool = plan_tool_call(function, int(seed), service.tokenizer, service.vocab)
    params["max_new_tokens"] = max(1, min(params.get("max_new_tokens", len(tool.pieces)), len(tool.pieces)))
    return tool


def _message(generation: Generation, tool: ToolCallPlan | None) -> dict[str, Any]:
    if tool is None:
        return {"role": "assistant", "content": generation.text()}
    text = tool.arguments(len(generation.ids))
    try:
        arguments = json.loads(text)  # TGI 3.x returns the arguments as a JSON object, description null
    except ValueError:
        raise ApiError(422, "tool_error", f"Tool error: Failed to parse generated text: {text!r}") from None
    call = {"description": None, "name": tool.name, "arguments": arguments}
    return {"role": "assistant", "tool_calls": [{"id": "0", "type": "function", "function": call}]}


def _finish(generation: Generation, tool: ToolCallPlan | None) -> str:
    if tool is not None:
        return "stop" if len(generation.ids) >= len(tool.pieces) else "length"
    return _CHAT_FINISH.get(generation.finish_reason or "length", "length")


async def chat_completions(service: Service, req: Mapping[str, Any], send: Send, arrival: float,
                           route: str = "/v1/chat/completions") -> None:  # fmt: skip
    prompt, params = _chat_prompt(req)
    model = model_name(service, req)
    want_logprobs = bool(req["logprobs"])
    tool = _tool_plan(service, req, prompt, params)
    if req["stream"]:
        include_usage = bool(req["stream_options"]["include_usage"])
        await _chat_stream(
            service, prompt, params, send, arrival, model, want_logprobs, include_usage, route, tool
        )
        return
    job = await start_job(
        service, prompt, params, send, arrival, route, stream=False, add_special_tokens=False
    )
    if job is None:
        return
    await run_job(service, job)
    generation = job.best
    try:
        message = _message(generation, tool)
    except ApiError as error:
        service.fail(error)
        service.finish(job, status=error.status, error_type=error.error_type)
        raise
    response = {
        "object": "chat.completion",
        "id": "",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": service.fingerprint,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": _logprobs(service, generation, 0, len(generation.ids)) if want_logprobs else None,
            "finish_reason": _finish(generation, tool),
        }],
        "usage": usage(job, generation),
    }  # fmt: skip
    headers = timing_headers(service, job)
    service.finish(job)
    await send_json(send, 200, response, headers)


async def _chat_stream(
    service: Service, prompt: str, params: dict[str, Any], send: Send, arrival: float, model: str,
    want_logprobs: bool, include_usage: bool, route: str, tool: ToolCallPlan | None,
) -> None:  # fmt: skip
    plan = await begin_stream(service, send, len(prompt))
    if plan is None:
        return
    try:
        raise_planned_error(service, plan)
        job = service.submit(prompt, params, arrival=arrival, plan=plan, route=route, stream=True,
                             add_special_tokens=False)  # fmt: skip
    except ApiError as rejected:
        await end_stream(send, chat_error_event(rejected) + DONE)
        return
    generation = job.generations[0]
    created = int(time.time())
    head = (f'{{"object":"chat.completion.chunk","id":"","created":{created},"model":{json_text(model)},'
            f'"system_fingerprint":"{service.fingerprint}","choices":[')  # fmt: skip
    vocab = service.vocab

    def render(i: int) -> str:
        token_id = generation.ids[i]
        if tool is not None:
            name = json_text(tool.name) if i == 0 else "null"
            piece = json_text(tool.pieces[i] if i < len(tool.pieces) else "")
            delta = (f'{{"role":"assistant","tool_calls":[{{"index":0,"id":"","type":"function",'
                     f'"function":{{"name":{name},"arguments":{piece}}}}}]}}')  # fmt: skip
        else:
            content = '""' if token_id == EOS_ID else vocab.json_of(token_id)
            delta = f'{{"role":"assistant","content":{content}}}'
        last = generation.finished and i == len(generation.ids) - 1
        finish = json_text(_finish(generation, tool)) if last else "null"
        logprobs = json_text(_logprobs(service, generation, i, i + 1)) if want_logprobs else "null"
        return (f'data: {head}{{"index":0,"delta":{delta},'
                f'"logprobs":{logprobs},"finish_reason":{finish}}}],"usage":null}}\n\n')  # fmt: skip

    result, error = await pump(service, job, send, render, chat_error_event)
    if result == PumpResult.DROPPED:
        service.finish(job, dropped=True)
        return
    tail = ""
    if error is None and include_usage:
        tail = f'data: {head}],"usage":{json_text(usage(job, generation))}}}\n\n'
    service.finish(job, status=error.status if error else 200, error_type=error.error_type if error else None)
    await end_stream(send, tail + DONE)


async def chat_tokenize(service: Service, req: Mapping[str, Any], send: Send) -> None:
    prompt, _ = _chat_prompt(req)
    tokens = tokenize_text(service, prompt, add_special_tokens=False)
    await send_json(send, 200, {"tokenize_response": tokens, "templated_text": prompt})


async def models(service: Service, send: Send) -> None:
    model_id = service.config.model_id
    await send_json(send, 200, {"object": "list", "data": [{"id": model_id, "object": "model", "created": 0,
                                                            "owned_by": model_id}]})  # fmt: skip
