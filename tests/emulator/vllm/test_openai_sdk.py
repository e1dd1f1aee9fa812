"""The official `openai` SDK against the vLLM emulator, as a real process over a real socket."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openai
import pytest

from orchestrator.tokens import format_chat, get_tokenizer
from tests.fixtures.emulator import VLLM_MODEL, EmulatorProcess

Factory = Callable[..., EmulatorProcess]
SAY_HI = [{"role": "user", "content": "Say hi"}]
SAY_HI_TOKENS = get_tokenizer().count(format_chat(SAY_HI), add_bos=False)  # the real tokenizer's count


@pytest.fixture
def client(vllm_emulator_factory: Factory) -> Iterator[openai.OpenAI]:
    server = vllm_emulator_factory("--max-model-len", "4096", "--api-key", "sekret")
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="sekret", max_retries=0) as sdk:
        yield sdk


def test_completions_not_streamed(client: openai.OpenAI) -> None:
    done = client.completions.create(model=VLLM_MODEL, prompt="Once upon a time", max_tokens=7)
    assert done.id.startswith("cmpl-") and done.object == "text_completion" and done.model == VLLM_MODEL
    assert done.choices[0].finish_reason == "length" and done.choices[0].text
    assert done.usage is not None and done.usage.completion_tokens == 7
    assert done.usage.prompt_tokens == 5  # <s> + 4 pieces of the real tokenizer
    assert done.system_fingerprint is not None and done.system_fingerprint.startswith("vllm-0.33.0-")


def test_completions_streamed_with_usage(client: openai.OpenAI) -> None:
    chunks = list(client.completions.create(model=VLLM_MODEL, prompt="Hi", max_tokens=5, stream=True,
                                            stream_options={"include_usage": True}))  # fmt: skip
    texts = [c.choices[0].text for c in chunks if c.choices]
    assert len(texts) == 5 and chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"


def test_chat_not_streamed(client: openai.OpenAI) -> None:
    done = client.chat.completions.create(model=VLLM_MODEL, messages=SAY_HI, max_completion_tokens=6)
    assert done.id.startswith("chatcmpl-") and done.object == "chat.completion"
    message = done.choices[0].message
    assert message.role == "assistant" and message.content and message.tool_calls == []
    assert done.choices[0].finish_reason == "length"
    assert done.usage is not None and done.usage.completion_tokens == 6
    assert done.usage.prompt_tokens == SAY_HI_TOKENS


def test_chat_streamed_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=VLLM_MODEL, messages=SAY_HI, max_tokens=4, stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    contents = [c.choices[0].delta.content for c in chunks[1:] if c.choices]
    assert len(contents) == 4 and all(contents)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == SAY_HI_TOKENS + 4


def test_sdk_errors_map_to_its_types(client: openai.OpenAI, vllm_emulator_factory: Factory) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.completions.create(model="nope", prompt="x", max_tokens=1)
    assert "Valid aliases: TheBloke/Mistral-7B-Instruct-v0.2-AWQ" in str(missing.value)
    with pytest.raises(openai.BadRequestError) as bad:
        client.completions.create(model=VLLM_MODEL, prompt="x", max_tokens=1, temperature=3)
    assert "temperature must be in [0, 2], got 3.0." in str(bad.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=VLLM_MODEL, messages=[{"role": "assistant", "content": "x"}])
    wrong = openai.OpenAI(base_url=str(client.base_url), api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as denied:
        wrong.models.list()
    assert denied.value.status_code == 401 and denied.value.body == "Unauthorized"
    wrong.close()
