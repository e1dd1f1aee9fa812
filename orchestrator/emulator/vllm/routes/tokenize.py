"""`POST /tokenize` and `POST /detokenize` with vLLM's shapes, counted by the model's real tokenizer.

`/tokenize` takes a `prompt` (special tokens added unless `add_special_tokens: false`) or chat `messages`
(rendered with the `[INST]` template) and answers `{count, max_model_len, tokens, token_strs}`; `/detokenize`
takes `tokens` and answers `{prompt}`.
"""

from __future__ import annotations

from typing import Any

from orchestrator.emulator.core.http import Send, send_json
from orchestrator.emulator.vllm.prompts import chat_prompt
from orchestrator.emulator.vllm.sampling import check_schema
from orchestrator.emulator.vllm.service import VllmService

__all__ = ["detokenize", "tokenize"]

_TOKENIZE = {"model": (str,), "prompt": (str,), "messages": (list,), "add_special_tokens": (bool,),
             "return_token_strs": (bool,)}  # fmt: skip


async def tokenize(service: VllmService, body: Any, send: Send) -> None:
    is_chat = isinstance(body, dict) and body.get("messages") is not None
    body = check_schema(body, _TOKENIZE, "messages" if is_chat else "prompt")
    tokenizer = service.tokenizer
    if is_chat:
        _, ids = chat_prompt(service, body)
    else:
        ids = tokenizer.encode(body["prompt"], add_bos=body.get("add_special_tokens", True) is not False)
    strs = [tokenizer.piece(t) for t in ids] if body.get("return_token_strs") else None
    await send_json(send, 200, {"count": len(ids), "max_model_len": service.config.max_model_len, "tokens": ids,
                                "token_strs": strs})  # fmt: skip


async def detokenize(service: VllmService, body: Any, send: Send) -> None:
    body = check_schema(body, {"model": (str,), "tokens": (list,)}, "tokens")
    await send_json(send, 200, {"prompt": service.tokenizer.decode([int(t) for t in body["tokens"]])})
