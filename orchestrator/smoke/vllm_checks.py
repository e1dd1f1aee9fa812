"""The smoke checks for a vLLM endpoint: the promises of vLLM 0.33's OpenAI-compatible API [vllm-server.md §5, §6].

The same questions as TGI's checks, asked in vLLM's words: `/version` and `/v1/models` instead of `/info`,
`/v1/completions` (streamed with usage) instead of `/generate`, chat without TGI's `model: "tgi"`, 400
`BadRequestError` for an over-long prompt (TGI: 422), 401 `{"error": "Unauthorized"}`, and vLLM's metric names.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.engines.vllm import errors as vllm_errors
from orchestrator.engines.vllm import routes
from orchestrator.engines.vllm.metrics import SERVER, STATUS
from orchestrator.smoke.assertions import (
    CheckFailed,
    CheckSkipped,
    events,
    field,
    json_object,
    snippet,
    status,
)
from orchestrator.smoke.checks import (
    CHAT,
    MAX_NEW_TOKENS,
    PROMPT,
    Check,
    CheckContext,
    chat_answer,
    chat_stream_answer,
    check_health,
    metric_names,
)

__all__ = ["REQUIRED_METRICS", "VLLM_CHECKS"]

FINISH_REASONS = {"stop", "length"}

REQUIRED_METRICS = (
    *SERVER.request_counters,
    *SERVER.histograms,
    STATUS.queue,
    STATUS.running,
    *((STATUS.kv_cache_usage,) if STATUS.kv_cache_usage else ()),
)
"""vLLM metric families present once the earlier checks ran (counters by their `_total` sample names)."""


def check_version(ctx: CheckContext) -> str:
    reply = ctx.http.get(routes.VERSION, timeout=ctx.timeout)
    status(reply, 200, f"GET {routes.VERSION}")
    version = field(json_object(reply, routes.VERSION), "version", str, routes.VERSION)
    return f"vLLM {version}"


def check_models(ctx: CheckContext) -> str:
    what = routes.MODELS
    reply = ctx.http.get(what, timeout=ctx.timeout)
    status(reply, 200, f"GET {what}")
    cards = field(json_object(reply, what), "data", list, what)
    if not cards or not isinstance(cards[0], dict):
        raise CheckFailed(f"{what}: expected at least one model card, got {json.dumps(cards)[:200]}")
    card = cards[0]
    name = field(card, "id", str, f"{what} card")
    root = card.get("root")
    length = field(card, "max_model_len", int, f"{what} card")
    wrong = []
    expect = ctx.expect
    if expect.model_id is not None and expect.model_id not in (name, root):
        wrong.append(f"the model is {name!r} (root {root!r}), expected {expect.model_id!r}")
    if expect.max_total_tokens is not None and length != expect.max_total_tokens:
        wrong.append(f"max_model_len is {length}, expected {expect.max_total_tokens}")
    if wrong:
        raise CheckFailed(f"{what}: " + "; ".join(wrong))
    return f"{name}, max_model_len={length}"


def _completion_body(stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": PROMPT, "max_tokens": MAX_NEW_TOKENS, "temperature": 0}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


def _usage(usage: Any, what: str) -> int:
    if not isinstance(usage, dict):
        raise CheckFailed(f"{what}: no usage object, got {json.dumps(usage)[:200]}")
    completion: int = field(usage, "completion_tokens", int, f"{what} usage")
    prompt = field(usage, "prompt_tokens", int, f"{what} usage")
    if (
        not 1 <= completion <= MAX_NEW_TOKENS
        or prompt < 1
        or usage.get("total_tokens") != completion + prompt
    ):
        raise CheckFailed(f"{what}: inconsistent usage {json.dumps(usage)} for max_tokens={MAX_NEW_TOKENS}")
    return completion


def check_completions(ctx: CheckContext) -> str:
    what = routes.COMPLETIONS
    reply = ctx.http.post(what, _completion_body(False), timeout=ctx.timeout)
    status(reply, 200, f"POST {what}")
    body = json_object(reply, what)
    if body.get("object") != "text_completion":
        raise CheckFailed(f"{what}: object is {body.get('object')!r}, expected 'text_completion'")
    choices = field(body, "choices", list, what)
    if len(choices) != 1 or not isinstance(choices[0], dict):
        raise CheckFailed(f"{what}: expected one choice, got {json.dumps(choices)[:200]}")
    text = field(choices[0], "text", str, f"{what} choice")
    reason = choices[0].get("finish_reason")
    if reason not in FINISH_REASONS:
        raise CheckFailed(f"{what}: finish_reason {reason!r} is not one of {sorted(FINISH_REASONS)}")
    tokens = _usage(body.get("usage"), what)
    return f"{tokens} tokens, finish_reason={reason}, text={text[:40]!r}"


def check_completions_stream(ctx: CheckContext) -> str:
    what = f"{routes.COMPLETIONS} (stream)"
    reply = ctx.http.stream_lines(routes.COMPLETIONS, _completion_body(True), timeout=ctx.timeout)
    status(reply, 200, f"POST {what}")
    chunks, done = events(reply, what)
    if not done:
        raise CheckFailed(f"{what}: the stream did not end with 'data: [DONE]'")
    *texts, last = chunks
    if last.get("choices") != [] or "usage" not in last:
        raise CheckFailed(
            f"{what}: the last chunk should be the usage chunk (choices: []), got {json.dumps(last)[:200]}"
        )
    reasons = []
    for chunk in texts:
        for choice in field(chunk, "choices", list, f"{what} chunk"):
            field(choice, "text", str, f"{what} choice")
            if choice.get("finish_reason") is not None:
                reasons.append(choice["finish_reason"])
    if len(reasons) != 1 or reasons[0] not in FINISH_REASONS:
        raise CheckFailed(
            f"{what}: expected one final finish_reason in {sorted(FINISH_REASONS)}, got {reasons}"
        )
    tokens = _usage(last["usage"], what)
    return f"{len(texts)} text chunks, usage {tokens} tokens, finish_reason={reasons[0]}, then [DONE]"


def _chat_body(stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messages": CHAT,
        "max_tokens": MAX_NEW_TOKENS,
        "temperature": 0,
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def check_overlong_prompt(ctx: CheckContext) -> str:
    limit = ctx.expect.max_total_tokens
    if limit is None:
        models = json_object(ctx.http.get(routes.MODELS, timeout=ctx.timeout), routes.MODELS)
        limit = field(field(models, "data", list, routes.MODELS)[0], "max_model_len", int, routes.MODELS)
    words = limit + 16
    body = {"prompt": "hello " * words, "max_tokens": 1}
    reply = ctx.http.post(routes.COMPLETIONS, body, timeout=ctx.timeout)
    status(reply, 400, f"POST {routes.COMPLETIONS} with a prompt of ≥{words} tokens")
    error = vllm_errors.parse_error(json_object(reply, "400 body"))
    if error is None or vllm_errors.KINDS.get(error.type or "") != "validation":
        raise CheckFailed(
            f"400 body should be vLLM's {{error: {{message, type, param, code}}}}, got {snippet(reply)}"
        )
    return f"HTTP 400 {error.type} (param={error.param}): {error.message[:120]}"


def check_api_key(ctx: CheckContext) -> str:
    if not ctx.http.has_api_key:
        raise CheckSkipped(
            "no API key configured (pass --api-key-env VAR or set ORCHESTRATOR_SECRETS__API_KEY)"
        )
    body = {"prompt": PROMPT, "max_tokens": 1}
    reply = ctx.http.post(routes.COMPLETIONS, body, timeout=ctx.timeout, authenticated=False)
    if reply.status != 401:
        raise CheckFailed(
            f"POST {routes.COMPLETIONS} without Authorization: expected HTTP 401, got {reply.status}"
        )
    return "HTTP 401 without the key (and the other checks passed with it)"


def check_metrics(ctx: CheckContext) -> str:
    reply = ctx.http.get(routes.METRICS, timeout=ctx.timeout)
    status(reply, 200, f"GET {routes.METRICS}")
    names = metric_names(reply.text())
    missing = [m for m in REQUIRED_METRICS if m not in names]
    if missing:
        raise CheckFailed(f"/metrics lacks {', '.join(missing)} ({len(names)} names exposed)")
    return f"{len(REQUIRED_METRICS)} vLLM metric names present"


VLLM_CHECKS: tuple[Check, ...] = (
    Check("health", "GET /health is 200", check_health),
    Check("version", "GET /version names the vLLM release", check_version),
    Check("models", "/v1/models serves the expected model and max_model_len", check_models),
    Check("completions", "/v1/completions returns text with usage", check_completions),
    Check(
        "completions_stream",
        "/v1/completions streams text chunks, a usage chunk, then [DONE]",
        check_completions_stream,
    ),
    Check(
        "chat", "/v1/chat/completions answers a Mistral chat", lambda ctx: chat_answer(ctx, _chat_body(False))
    ),
    Check(
        "chat_stream",
        "/v1/chat/completions streams a Mistral chat with usage",
        lambda ctx: chat_stream_answer(ctx, _chat_body(True)),
    ),
    Check("overlong_prompt", "an over-long prompt gets 400 BadRequestError", check_overlong_prompt),
    Check("api_key", "a request without the API key gets 401", check_api_key),
    Check("metrics", "/metrics exposes vLLM's metric names", check_metrics),
)
"""In run order: `metrics` last, so the request histograms have samples."""
