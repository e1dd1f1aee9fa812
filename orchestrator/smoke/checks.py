"""The smoke checks: small functions over the `SmokeHttp` seam, each asserting one promise of TGI's API.

A check returns a short detail when it passes and raises `CheckFailed` (or `CheckSkipped`) otherwise; the runner
adds timing and catches transport errors. Facts checked come from TGI 3.x (routes, error bodies, metric names);
nothing here depends on the model's wording, so they hold for the real server and for the emulator alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.engines.tgi import ENGINE as _TGI
from orchestrator.engines.tgi import routes
from orchestrator.smoke.assertions import CheckFailed, CheckSkipped
from orchestrator.smoke.assertions import events as _events
from orchestrator.smoke.assertions import field as _field
from orchestrator.smoke.assertions import json_object as _json_object
from orchestrator.smoke.assertions import snippet as _snippet
from orchestrator.smoke.assertions import status as _status
from orchestrator.smoke.http import SmokeHttp
from orchestrator.tokens import format_prompt

__all__ = [
    "CHECKS",
    "REQUIRED_METRICS",
    "Check",
    "CheckContext",
    "CheckFailed",
    "CheckSkipped",
    "Expectations",
    "chat_answer",
    "chat_stream_answer",
    "metric_names",
]

PROMPT = format_prompt("Say hello in five words.")
"""A Mistral-instruct prompt, short so every check costs a few tokens."""

CHAT = [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Italy? One word."},
]
"""A multi-turn conversation: Mistral's template only allows alternating user/assistant turns."""

MAX_NEW_TOKENS = 8

_METRICS, _STATUS = _TGI.server_metrics, _TGI.status_metrics

REQUIRED_METRICS = (
    *_METRICS.request_counters,
    *_METRICS.histograms,
    _STATUS.queue,
    _STATUS.running,
)
"""TGI metric families that exist once the earlier checks have run (series appear on first use). Not the
failure counter: it only appears after a failure, which would tie this check to the over-long-prompt one."""

FINISH_REASONS = {"length", "eos_token", "stop_sequence"}
CHAT_FINISH_REASONS = {"stop", "length", "stop_sequence"}


@dataclass(frozen=True)
class Expectations:
    """What the deployment should report. `None` means "do not check" (limits then come from `/info`)."""

    model_id: str | None = None
    max_input_tokens: int | None = None
    max_total_tokens: int | None = None


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may use: the HTTP seam, the expectations and the per-request deadline in seconds."""

    http: SmokeHttp
    expect: Expectations
    timeout: float


@dataclass(frozen=True)
class Check:
    """A named check: `name` is stable (JUnit test name, `--json` key), `title` says what it asserts."""

    name: str
    title: str
    run: Callable[[CheckContext], str]


def check_health(ctx: CheckContext) -> str:
    reply = ctx.http.get(routes.HEALTH, timeout=ctx.timeout)
    _status(reply, 200, "GET /health")
    return "HTTP 200"


def _info(ctx: CheckContext) -> dict[str, Any]:
    reply = ctx.http.get(routes.INFO, timeout=ctx.timeout)
    _status(reply, 200, "GET /info")
    return _json_object(reply, "GET /info")


def check_info(ctx: CheckContext) -> str:
    info = _info(ctx)
    model_id = _field(info, "model_id", str, "/info")
    max_input = _field(info, "max_input_tokens", int, "/info")
    max_total = _field(info, "max_total_tokens", int, "/info")
    wrong = []
    expect = ctx.expect
    if expect.model_id is not None and model_id != expect.model_id:
        wrong.append(f"model_id is {model_id!r}, expected {expect.model_id!r}")
    if expect.max_input_tokens is not None and max_input != expect.max_input_tokens:
        wrong.append(f"max_input_tokens is {max_input}, expected {expect.max_input_tokens}")
    if expect.max_total_tokens is not None and max_total != expect.max_total_tokens:
        wrong.append(f"max_total_tokens is {max_total}, expected {expect.max_total_tokens}")
    if wrong:
        raise CheckFailed("/info: " + "; ".join(wrong))
    return f"{model_id}, max_input_tokens={max_input}, max_total_tokens={max_total}"


def _generate_body() -> dict[str, Any]:
    return {
        "inputs": PROMPT,
        "parameters": {"max_new_tokens": MAX_NEW_TOKENS, "details": True, "do_sample": False},
    }


def check_generate(ctx: CheckContext) -> str:
    reply = ctx.http.post(routes.GENERATE, _generate_body(), timeout=ctx.timeout)
    _status(reply, 200, "POST /generate")
    body = _json_object(reply, "POST /generate")
    text = _field(body, "generated_text", str, "/generate")
    details = _field(body, "details", dict, "/generate (details:true was sent)")
    reason = _field(details, "finish_reason", str, "/generate details")
    if reason not in FINISH_REASONS:
        raise CheckFailed(
            f"/generate details: finish_reason {reason!r} is not one of {sorted(FINISH_REASONS)}"
        )
    generated = _field(details, "generated_tokens", int, "/generate details")
    tokens = _field(details, "tokens", list, "/generate details")
    if not 1 <= generated <= MAX_NEW_TOKENS:
        raise CheckFailed(f"/generate details: generated_tokens={generated}, expected 1..{MAX_NEW_TOKENS}")
    if len(tokens) != generated:
        raise CheckFailed(f"/generate details: {len(tokens)} tokens listed but generated_tokens={generated}")
    return f"{generated} tokens, finish_reason={reason}, text={text[:40]!r}"


def check_generate_stream(ctx: CheckContext) -> str:
    reply = ctx.http.stream_lines(routes.GENERATE_STREAM, _generate_body(), timeout=ctx.timeout)
    _status(reply, 200, "POST /generate_stream")
    what = "/generate_stream"
    events, _ = _events(reply, what)
    for event in events:
        token = _field(event, "token", dict, f"{what} event")
        _field(token, "text", str, f"{what} token")
        _field(token, "id", int, f"{what} token")
    last = events[-1]
    text = last.get("generated_text")
    details = last.get("details")
    if not isinstance(text, str) or not isinstance(details, dict):
        raise CheckFailed(f"{what}: last event lacks generated_text and details: {json.dumps(last)[:200]}")
    early = [i for i, e in enumerate(events[:-1]) if e.get("generated_text") is not None]
    if early:
        raise CheckFailed(f"{what}: event {early[0]} carries generated_text before the end of the stream")
    reason = _field(details, "finish_reason", str, f"{what} details")
    generated = _field(details, "generated_tokens", int, f"{what} details")
    if generated != len(events):
        raise CheckFailed(f"{what}: {len(events)} token events but details.generated_tokens={generated}")
    if reason not in FINISH_REASONS:
        raise CheckFailed(f"{what}: finish_reason {reason!r} is not one of {sorted(FINISH_REASONS)}")
    return f"{len(events)} token events, finish_reason={reason}"


def _chat_body(stream: bool) -> dict[str, Any]:
    return {
        "model": "tgi",
        "messages": CHAT,
        "max_tokens": MAX_NEW_TOKENS,
        "temperature": 0,
        "stream": stream,
    }


def check_chat(ctx: CheckContext) -> str:
    return chat_answer(ctx, _chat_body(False))


def chat_answer(ctx: CheckContext, body: Mapping[str, Any]) -> str:
    """A non-streamed `/v1/chat/completions` answer to `body` is one assistant message with consistent usage."""
    what = "/v1/chat/completions"
    reply = ctx.http.post(routes.CHAT, body, timeout=ctx.timeout)
    _status(reply, 200, f"POST {what}")
    body = _json_object(reply, what)
    if body.get("object") != "chat.completion":
        raise CheckFailed(f"{what}: object is {body.get('object')!r}, expected 'chat.completion'")
    choices = _field(body, "choices", list, what)
    if len(choices) != 1 or not isinstance(choices[0], dict):
        raise CheckFailed(f"{what}: expected one choice, got {json.dumps(choices)[:200]}")
    message = _field(choices[0], "message", dict, f"{what} choice")
    if message.get("role") != "assistant":
        raise CheckFailed(f"{what}: message role is {message.get('role')!r}, expected 'assistant'")
    content = _field(message, "content", str, f"{what} message")
    reason = choices[0].get("finish_reason")
    if reason not in CHAT_FINISH_REASONS:
        raise CheckFailed(f"{what}: finish_reason {reason!r} is not one of {sorted(CHAT_FINISH_REASONS)}")
    usage = _field(body, "usage", dict, what)
    completion = _field(usage, "completion_tokens", int, f"{what} usage")
    prompt = _field(usage, "prompt_tokens", int, f"{what} usage")
    if completion < 1 or prompt < 1 or usage.get("total_tokens") != completion + prompt:
        raise CheckFailed(f"{what}: inconsistent usage {json.dumps(usage)}")
    return f"{completion} tokens, finish_reason={reason}, content={content[:40]!r}"


def check_chat_stream(ctx: CheckContext) -> str:
    return chat_stream_answer(ctx, _chat_body(True))


def chat_stream_answer(ctx: CheckContext, body: Mapping[str, Any]) -> str:
    """A streamed `/v1/chat/completions` to `body` carries content chunks, one finish reason, then `[DONE]`."""
    what = "/v1/chat/completions (stream)"
    reply = ctx.http.stream_lines(routes.CHAT, body, timeout=ctx.timeout)
    _status(reply, 200, f"POST {what}")
    events, done = _events(reply, what)
    if not done:
        raise CheckFailed(f"{what}: the stream did not end with 'data: [DONE]'")
    pieces: list[str] = []
    reasons: list[str] = []
    for event in events:
        if event.get("object") != "chat.completion.chunk":
            raise CheckFailed(
                f"{what}: chunk object is {event.get('object')!r}, expected 'chat.completion.chunk'"
            )
        for choice in _field(event, "choices", list, f"{what} chunk"):
            delta = _field(choice, "delta", dict, f"{what} choice")
            if isinstance(delta.get("content"), str):
                pieces.append(delta["content"])
            if choice.get("finish_reason"):
                reasons.append(str(choice["finish_reason"]))
    if not pieces:
        raise CheckFailed(f"{what}: no chunk carried delta.content")
    if len(reasons) != 1 or reasons[0] not in CHAT_FINISH_REASONS:
        raise CheckFailed(
            f"{what}: expected one final finish_reason in {sorted(CHAT_FINISH_REASONS)}, got {reasons}"
        )
    return f"{len(pieces)} content chunks, finish_reason={reasons[0]}, then [DONE]"


def _limits(ctx: CheckContext) -> tuple[int, int]:
    expect = ctx.expect
    if expect.max_input_tokens is not None and expect.max_total_tokens is not None:
        return expect.max_input_tokens, expect.max_total_tokens
    info = _info(ctx)
    return (
        expect.max_input_tokens or _field(info, "max_input_tokens", int, "/info"),
        expect.max_total_tokens or _field(info, "max_total_tokens", int, "/info"),
    )


def check_overlong_prompt(ctx: CheckContext) -> str:
    max_input, max_total = _limits(ctx)
    words = max(max_input, max_total) + 16
    # Every repeated word is at least one token, so the prompt is longer than both limits whatever the tokenizer.
    body = {"inputs": "hello " * words, "parameters": {"max_new_tokens": 1}}
    reply = ctx.http.post(routes.GENERATE, body, timeout=ctx.timeout)
    if reply.status != 422:
        _status(reply, 422, f"POST /generate with a prompt of ≥{words} tokens")
    error = _json_object(reply, "422 body")
    if error.get("error_type") != "validation" or not isinstance(error.get("error"), str):
        raise CheckFailed(f"422 body should be {{error, error_type:'validation'}}, got {_snippet(reply)}")
    return f"HTTP 422 validation: {error['error'][:120]}"


def check_api_key(ctx: CheckContext) -> str:
    if not ctx.http.has_api_key:
        raise CheckSkipped(
            "no API key configured (pass --api-key-env VAR or set ORCHESTRATOR_SECRETS__API_KEY)"
        )
    body = {"inputs": PROMPT, "parameters": {"max_new_tokens": 1}}
    reply = ctx.http.post(routes.GENERATE, body, timeout=ctx.timeout, authenticated=False)
    if reply.status != 401:
        raise CheckFailed(f"POST /generate without Authorization: expected HTTP 401, got {reply.status}")
    return "HTTP 401 without the key (and the other checks passed with it)"


def metric_names(exposition: str) -> set[str]:
    """Metric family names in a Prometheus text exposition (histogram `_bucket/_sum/_count` folded)."""
    names: set[str] = set()
    for line in exposition.splitlines():
        line = line.strip()
        if line.startswith("# TYPE ") or line.startswith("# HELP "):
            parts = line.split()
            if len(parts) >= 3:
                names.add(parts[2])
            continue
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name != "tgi_request_count":
                names.add(name[: -len(suffix)])
        names.add(name)
    return names


def check_metrics(ctx: CheckContext) -> str:
    reply = ctx.http.get(routes.METRICS, timeout=ctx.timeout)
    _status(reply, 200, "GET /metrics")
    names = metric_names(reply.text())
    missing = [m for m in REQUIRED_METRICS if m not in names]
    if missing:
        raise CheckFailed(f"/metrics lacks {', '.join(missing)} ({len(names)} names exposed)")
    renamed = sorted(n for n in names if n.startswith("tgi_") and n.endswith("_total"))
    if renamed:
        raise CheckFailed(f"/metrics: TGI counters have no _total suffix, found {', '.join(renamed)}")
    return f"{len(REQUIRED_METRICS)} TGI metric names present"


CHECKS: tuple[Check, ...] = (
    Check("health", "GET /health is 200", check_health),
    Check("info", "/info reports the expected model and token limits", check_info),
    Check("generate", "/generate returns text with details", check_generate),
    Check(
        "generate_stream",
        "/generate_stream yields tokens and a final event with details",
        check_generate_stream,
    ),
    Check("chat", "/v1/chat/completions answers a Mistral chat", check_chat),
    Check("chat_stream", "/v1/chat/completions streams a Mistral chat", check_chat_stream),
    Check("overlong_prompt", "an over-long prompt gets 422 validation", check_overlong_prompt),
    Check("api_key", "a request without the API key gets 401", check_api_key),
    Check("metrics", "/metrics exposes TGI's metric names", check_metrics),
)
"""In run order: `metrics` last, because TGI only exposes a series once it was used."""
