"""What completions and chat bodies share: ids, output text, finish and stop reasons, usage and logprobs.

Output text skips special tokens (`skip_special_tokens`: EOS adds nothing) and leaves out a matched stop string
unless `include_stop_str_in_output`. `finish_reason` is `stop` for EOS, a stop string or a stop token (then
`stop_reason` names the string or the token id), `length` for `max_tokens` or the model length, `abort` for a
request aborted by a shutdown.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from orchestrator.emulator.core.generation import Generation
from orchestrator.emulator.core.http import Headers, Scope, json_text
from orchestrator.emulator.vllm.service import Job, VllmService
from orchestrator.tokens import EOS_ID

__all__ = ["finish_of", "logprob_entries", "output_text", "request_id", "response_head", "stop_reason",
           "token_text", "usage", "usage_options"]  # fmt: skip

_FINISH = {"length": "length", "eos_token": "stop", "stop_sequence": "stop", "stop_token": "stop",
           "abort": "abort"}  # fmt: skip


def request_id(scope: Scope, body: dict[str, Any]) -> str:
    """`X-Request-Id` if sent, else the body's `request_id`, else 16 lowercase hex digits."""
    for key, value in scope["headers"]:
        if key == b"x-request-id" and value:
            return str(value.decode(errors="replace"))
    given = body.get("request_id")
    return given if isinstance(given, str) and given else secrets.token_hex(8)


def response_head(
    service: VllmService, scope: Scope, body: dict[str, Any], prefix: str, kind: str
) -> tuple[dict[str, Any], Headers]:
    """The id, object, created and model keys every body and chunk starts with, and the response headers."""
    ident = prefix + request_id(scope, body)
    config = service.config
    head = {"id": ident, "object": kind, "created": int(time.time()), "model": config.served_name}
    return head, [(b"x-request-id", ident.encode())] if config.enable_request_id_headers else []


def usage_options(service: VllmService, body: dict[str, Any]) -> tuple[bool, bool]:
    """(a closing usage chunk, usage on every chunk): `stream_options`, or `--enable-force-include-usage`."""
    options = body.get("stream_options") or {}
    force = service.config.enable_force_include_usage
    include = force or bool(options.get("include_usage"))
    return include, include and (force or bool(options.get("continuous_usage_stats")))


def _matched_stop(generation: Generation, text: str) -> str | None:
    if generation.finish_reason != "stop_sequence":
        return None
    return next((s for s in generation.stop if text.endswith(s)), None)


def stop_reason(generation: Generation) -> str | int | None:
    if generation.finish_reason == "stop_token":
        return int(generation.ids[-1])
    return _matched_stop(generation, generation.text())


def finish_of(generation: Generation) -> str | None:
    if generation.error is not None:
        return "abort"
    return _FINISH.get(generation.finish_reason) if generation.finish_reason else None


def output_text(service: VllmService, job: Job, generation: Generation) -> str:
    text = generation.text()
    stop = _matched_stop(generation, text)
    if stop and not job.sampling.include_stop_str_in_output:
        text = text[: len(text) - len(stop)]
    return text


def token_text(service: VllmService, job: Job, generation: Generation, i: int) -> str:
    """Token `i`'s streamed text: nothing for EOS; the last token loses the matched stop string's part."""
    token = generation.ids[i]
    if token == EOS_ID:
        return ""
    text = service.vocab.text_of(token)
    if i == len(generation.ids) - 1 and generation.finish_reason == "stop_sequence":
        stop = _matched_stop(generation, generation.text())
        if stop and not job.sampling.include_stop_str_in_output:
            text = text[: max(0, len(text) - len(stop))]
    return text


def middle_token_json(service: VllmService, generation: Generation, i: int) -> str | None:
    """Token `i`'s streamed text as JSON when nothing can change it (not EOS, not the last token, which a stop
    string may cut): the vocabulary's cached escape, the per-token fast path. None: use `token_text`."""
    token = generation.ids[i]
    if token == EOS_ID or (generation.finished and i == len(generation.ids) - 1):
        return None
    cached = service.vocab.json_text.get(token)
    return cached if cached is not None else json_text(service.vocab.text_of(token))


def usage(job: Job, completion_tokens: int | None = None, *, nulls: bool = True) -> dict[str, Any]:
    """Token counts; stream chunks leave the null details out (`nulls=False`), full bodies keep them."""
    generated = sum(len(g.ids) for g in job.generations) if completion_tokens is None else completion_tokens
    counts: dict[str, Any] = {"prompt_tokens": job.prompt_tokens, "total_tokens": job.prompt_tokens + generated,
                              "completion_tokens": generated}  # fmt: skip
    if nulls:
        counts["prompt_tokens_details"] = None
    return counts


def logprob_entries(
    service: VllmService, generation: Generation, start: int, end: int
) -> list[dict[str, Any]]:
    """Per token: its text, logprob and alternatives (`top`), as both routes shape them."""
    out = []
    for i in range(start, end):
        top = generation.top_tokens[i] if generation.top_tokens else []
        out.append({"token": service.vocab.text_of(generation.ids[i]), "logprob": generation.logprobs[i],
                    "top": [(service.vocab.text_of(t), lp) for t, lp in top]})  # fmt: skip
    return out
