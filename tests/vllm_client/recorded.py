"""vLLM 0.33 answers as the reference records them [vllm-server.md §5], scripted for `FakeTGI` (no sockets)."""

from __future__ import annotations

import json
from typing import Any

import httpx2

from tests.client.fake_tgi import Answer

MODEL = "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"
BUSY = "The engine is currently busy and cannot accept new requests. Please try again later or on a different instance."


def vllm_error(status: int, kind: str, message: str, param: str | None = None) -> Answer:
    body = {"error": {"message": message, "type": kind, "param": param, "code": status}}
    return lambda request: httpx2.Response(status, json=body)


def unauthorized(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(401, json={"error": "Unauthorized"})


def not_found(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(404, json={"detail": "Not Found"})


def version(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, json={"version": "0.33.0"})


def models(request: httpx2.Request) -> httpx2.Response:
    card = {"id": MODEL, "object": "model", "created": 1, "owned_by": "vllm", "root": MODEL, "parent": None,
            "max_model_len": 32768, "permission": []}  # fmt: skip
    return httpx2.Response(200, json={"object": "list", "data": [card]})


def completion(text: str = "Paris", reason: str = "stop", tokens: int = 2) -> Answer:
    body = {
        "id": "cmpl-0123456789abcdef", "object": "text_completion", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": reason, "stop_reason": None,
                     "prompt_logprobs": None, "prompt_token_ids": None, "token_ids": None}],
        "service_tier": None, "system_fingerprint": "vllm-0.33.0-0123abcd",
        "usage": {"prompt_tokens": 11, "total_tokens": 11 + tokens, "completion_tokens": tokens,
                  "prompt_tokens_details": None, "completion_tokens_details": None},
        "kv_transfer_params": None,
    }  # fmt: skip
    return lambda request: httpx2.Response(200, json=body)


def chat_completion(content: str = "Rome.") -> Answer:
    body = {
        "id": "chatcmpl-0123456789abcdef", "object": "chat.completion", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None,
                     "annotations": None, "audio": None, "function_call": None, "tool_calls": [],
                     "reasoning": None}, "logprobs": None, "finish_reason": "stop", "stop_reason": None,
                     "token_ids": None}],
        "service_tier": None, "system_fingerprint": "vllm-0.33.0-0123abcd",
        "usage": {"prompt_tokens": 20, "total_tokens": 22, "completion_tokens": 2, "prompt_tokens_details": None},
        "prompt_logprobs": None, "kv_transfer_params": None,
    }  # fmt: skip
    return lambda request: httpx2.Response(200, json=body)


def _sse(events: list[Any]) -> bytes:
    out = [b"data: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n" for e in events]
    return b"".join(out) + b"data: [DONE]\n\n"


def completion_stream(texts: list[str], *, usage: bool = True, reason: str = "length") -> Answer:
    head = {"id": "cmpl-0123456789abcdef", "object": "text_completion", "created": 1, "model": MODEL}
    events: list[Any] = []
    for i, text in enumerate(texts):
        last = i == len(texts) - 1
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": reason if last else None,
                  "stop_reason": None}  # fmt: skip
        events.append({**head, "choices": [choice]})
    if usage:
        n = len(texts)
        events.append({**head, "choices": [], "usage": {"prompt_tokens": 11, "total_tokens": 11 + n,
                       "completion_tokens": n}, "system_fingerprint": "vllm-0.33.0-0123abcd"})  # fmt: skip
    body = _sse(events)
    pieces = [body[i : i + 41] for i in range(0, len(body), 41)]  # split mid-line on purpose
    return lambda request: httpx2.Response(
        200, headers={"content-type": "text/event-stream; charset=utf-8"}, content=b"".join(pieces)
    )


def chat_stream(texts: list[str]) -> Answer:
    head = {
        "id": "chatcmpl-0123456789abcdef",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
    }
    events: list[Any] = [{**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                          "logprobs": None, "finish_reason": None}]}]  # fmt: skip
    for i, text in enumerate(texts):
        reason = "stop" if i == len(texts) - 1 else None
        events.append({**head, "choices": [{"index": 0, "delta": {"content": text}, "logprobs": None,
                       "finish_reason": reason}]})  # fmt: skip
    events.append({**head, "choices": [], "usage": {"prompt_tokens": 20, "total_tokens": 20 + len(texts),
                   "completion_tokens": len(texts)}})  # fmt: skip
    body = _sse(events)
    return lambda request: httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)
