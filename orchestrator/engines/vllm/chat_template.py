"""The chat template vLLM is given for Mistral 7B Instruct v0.2, so `/v1/chat/completions` renders `[INST]` turns
exactly as `orchestrator.tokens.format_chat` (and TGI) do.

Whether TheBloke's AWQ repo ships a template, and which one, is not established, and vLLM has no built-in one for
`mistral` (a missing template is a 400 on every chat request) [vllm-server.md §8], so the plan passes this one
inline with `--chat-template`. A leading system message is folded into the first user turn after a blank line;
roles must then alternate user/assistant, with the same error texts. The template emits `<s>` itself; vLLM
tokenizes chat prompts without adding special tokens, so there is one BOS.
"""

from __future__ import annotations

import re

__all__ = ["MISTRAL_INSTRUCT_TEMPLATE", "wants_mistral_template"]

MISTRAL_INSTRUCT_TEMPLATE = (
    '{%- if messages and messages[0]["role"] == "system" -%}'
    '{%- set system = messages[0]["content"] -%}{%- set turns = messages[1:] -%}'
    '{%- else -%}{%- set system = "" -%}{%- set turns = messages -%}{%- endif -%}'
    '{%- if not turns -%}{{ raise_exception("Conversation must contain at least one user message") }}{%- endif -%}'
    "{{ bos_token }}"
    "{%- for message in turns -%}"
    '{%- if message["role"] not in ["user", "assistant"] -%}'
    '{{ raise_exception("Only user and assistant roles are supported!") }}'
    '{%- elif (message["role"] == "user") != (loop.index0 % 2 == 0) -%}'
    '{{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}'
    "{%- endif -%}"
    '{%- if message["role"] == "user" -%}'
    "{%- if loop.first and system -%}"
    '{{ "[INST] " + system + "\\n\\n" + message["content"] + " [/INST]" }}'
    '{%- else -%}{{ "[INST] " + message["content"] + " [/INST]" }}{%- endif -%}'
    '{%- else -%}{{ message["content"] + eos_token }}{%- endif -%}'
    "{%- endfor -%}"
)
"""One line of Jinja (vLLM reads `--chat-template` as inline text when it holds `{`/`}`); double quotes only, no
`$`, so the shell line and the Compose file show it verbatim."""

_MISTRAL_INSTRUCT = re.compile(r"mistral-7b-instruct-v0\.[123]", re.IGNORECASE)


def wants_mistral_template(model_id: str) -> bool:
    """Whether `model_id` is a Mistral 7B Instruct checkpoint (any quantization), which this template fits."""
    return _MISTRAL_INSTRUCT.search(model_id) is not None
