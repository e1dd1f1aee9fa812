"""Chat prompts as the model's template renders them, shared by chat completions and `/tokenize`.

Mistral's `[INST]` template (`orchestrator.tokens.format_chat`) puts BOS inside the prompt, so it is tokenized
without special tokens (vLLM's chat default `add_special_tokens: false`); a template refusal is a 400 with its text.
"""

from __future__ import annotations

from typing import Any

from orchestrator.emulator.vllm.errors import bad_request
from orchestrator.emulator.vllm.service import VllmService
from orchestrator.tokens import ChatTemplateError, format_chat

__all__ = ["chat_prompt"]


def chat_prompt(service: VllmService, body: dict[str, Any]) -> tuple[str, list[int]]:
    """The rendered prompt and its token ids; 400 with the template's own message when it refuses."""
    messages = body["messages"]
    if not all(isinstance(m, dict) for m in messages):
        raise bad_request("messages must be a list of objects with `role` and `content`", "messages")
    try:
        prompt = format_chat(messages)
    except ChatTemplateError as exc:
        raise bad_request(str(exc)) from None
    return prompt, service.tokenizer.encode(prompt, add_bos=False)
