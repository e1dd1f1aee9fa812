"""The `--chat-template` vLLM is given renders chats exactly as `orchestrator.tokens.format_chat` (TGI's template for
this model) does, errors included, in a Jinja sandbox like the one transformers and vLLM render with."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from orchestrator.engines.vllm.chat_template import MISTRAL_INSTRUCT_TEMPLATE, wants_mistral_template
from orchestrator.tokens import ChatTemplateError, format_chat


def _render(messages: list[dict[str, Any]]) -> str:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message: str) -> None:
        raise jinja2.TemplateError(message)

    env.globals["raise_exception"] = raise_exception
    return env.from_string(MISTRAL_INSTRUCT_TEMPLATE).render(
        messages=messages, bos_token="<s>", eos_token="</s>"
    )


CHATS: list[list[dict[str, Any]]] = [
    [{"role": "user", "content": "Hello"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    [
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2 with 'quotes' and \"doubles\""},
    ],
    [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2"},
    ],
]


@pytest.mark.parametrize("messages", CHATS)
def test_renders_like_format_chat(messages: list[dict[str, Any]]) -> None:
    assert _render(messages) == format_chat(messages)


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "assistant", "content": "a"}],
        [{"role": "user", "content": "u"}, {"role": "user", "content": "u"}],
        [{"role": "tool", "content": "t"}],
        [{"role": "system", "content": "only a system message"}],
    ],
)
def test_refuses_what_format_chat_refuses_with_the_same_words(messages: list[dict[str, Any]]) -> None:
    with pytest.raises(ChatTemplateError) as ours:
        format_chat(messages)
    with pytest.raises(jinja2.TemplateError) as theirs:
        _render(messages)
    assert str(theirs.value) == str(ours.value)


def test_one_line_without_dollar_or_single_quotes_and_only_for_mistral_instruct() -> None:
    assert "\n" not in MISTRAL_INSTRUCT_TEMPLATE and "$" not in MISTRAL_INSTRUCT_TEMPLATE
    assert "'" not in MISTRAL_INSTRUCT_TEMPLATE  # `docker run` shows it in plain single quotes
    assert wants_mistral_template("TheBloke/Mistral-7B-Instruct-v0.2-AWQ")
    assert wants_mistral_template("mistralai/Mistral-7B-Instruct-v0.2")
    assert not wants_mistral_template("Qwen/Qwen3-0.6B")
