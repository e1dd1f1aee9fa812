"""Creating clients (URL, settings, deployment name), presets, local tokens, and connection hygiene."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from orchestrator.client import (
    GREEDY,
    MISTRAL_MODEL_CARD,
    AsyncTGIClient,
    RetryPolicy,
    TGIClient,
    TGIError,
)
from orchestrator.config.loading import load_settings
from tests.client.fake_tgi import FakeTGI, generated, streamed

CLIENTS = [TGIClient, AsyncTGIClient]


@pytest.mark.parametrize("cls", CLIENTS)
def test_from_settings_uses_bind_address_port_and_api_key(cls: Any, tmp_path: Any) -> None:
    settings = load_settings(
        {"host.port": 8123, "host.bind_address": "0.0.0.0", "secrets.api_key": "sk-from-settings"},
        env_file=None,
        validate=False,
    )
    client = cls.from_settings(settings)
    assert client.endpoints == ["http://127.0.0.1:8123"]
    assert client._headers["authorization"] == "Bearer sk-from-settings"
    assert "sk-from-settings" not in repr(client)


@dataclass
class _Info:
    endpoint: str
    status: str = "running"


@pytest.mark.parametrize("cls", CLIENTS)
def test_from_deployment_finds_the_endpoint_by_name(cls: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import orchestrator.deploy.lifecycle as lifecycle

    found = {"tgi-mistral": _Info("http://127.0.0.1:8088"), "stopped": _Info("http://127.0.0.1:1", "exited")}
    monkeypatch.setattr(lifecycle, "find_deployment", found.get)
    client = cls.from_deployment("tgi-mistral", api_key=SecretStr("k"))
    assert client.endpoints == ["http://127.0.0.1:8088"]
    for missing in ("nope", "stopped"):
        with pytest.raises(TGIError, match=f"no running deployment named '{missing}'") as info:
            cls.from_deployment(missing)
        assert info.value.error_type == "deployment_not_found"


def test_preset_is_named_visible_and_can_be_switched_off() -> None:
    fake = FakeTGI([generated("ok")])
    client = TGIClient("http://t.test:1", transport=fake.transport())
    assert "mistral-7b-instruct-v0.2-model-card" in repr(client)
    assert (MISTRAL_MODEL_CARD.temperature, MISTRAL_MODEL_CARD.top_p, MISTRAL_MODEL_CARD.top_k) == (
        0.7,
        0.95,
        40,
    )
    assert (MISTRAL_MODEL_CARD.repetition_penalty, MISTRAL_MODEL_CARD.max_new_tokens) == (1.1, 512)
    client.generate("x")
    client.generate("x", preset=GREEDY)
    client.preset = None
    client.generate("x")
    assert fake.requests[0].body["parameters"] == MISTRAL_MODEL_CARD.parameters()
    assert fake.requests[1].body["parameters"] == {"do_sample": False}
    assert fake.requests[2].body["parameters"] == {}


def test_count_tokens_and_format_prompt_are_local() -> None:
    client = TGIClient("http://unreachable.invalid:1")
    prompt = client.format_prompt("Hello")
    assert prompt == "[INST] Hello [/INST]"
    assert client.count_tokens(prompt) == client.tokenizer().count(prompt) > 3
    chat = client.format_prompt([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"},
                                 {"role": "user", "content": "Again"}])  # fmt: skip
    assert chat == "<s>[INST] Hi [/INST]Yo</s>[INST] Again [/INST]"


def test_bad_configuration_is_rejected_with_the_value() -> None:
    with pytest.raises(ValueError, match="not an http"):
        TGIClient("localhost:8080")
    with pytest.raises(ValueError, match="api_key="):
        TGIClient("http://h:1", headers={"Authorization": "Bearer x"})
    with pytest.raises(ValueError, match="deadline=-1"):
        TGIClient("http://h:1", transport=FakeTGI([generated()]).transport()).generate("x", deadline=-1)
    with pytest.raises(ValueError, match="connect_timeout=0"):
        RetryPolicy(connect_timeout=0)


def test_timeouts_are_always_finite() -> None:
    client = TGIClient("http://h:1")
    timeout = client.http.timeout
    assert timeout.connect == client.policy.connect_timeout and timeout.read == client.policy.read_timeout
    hf_timeout: Any = client.inference_client.timeout
    assert hf_timeout.connect == 5.0 and hf_timeout.read == 120.0


def test_streams_release_their_endpoint_when_closed_early_or_finished() -> None:
    fake = FakeTGI([streamed(["a", "b", "c"])])
    client = TGIClient(["http://a.test:1", "http://b.test:2"], transport=fake.transport())
    with client.stream("x") as stream:
        next(iter(stream))
    assert [e.in_flight for e in client._pool.endpoints] == [0, 0]
    assert list(client.stream("x"))[-1].is_final
    abandoned = client.stream("x")
    del abandoned
    assert [e.in_flight for e in client._pool.endpoints] == [0, 0]


def test_async_streams_release_their_endpoint() -> None:
    fake = FakeTGI([streamed(["a", "b"])])

    async def go() -> list[int]:
        async with AsyncTGIClient("http://a.test:1", transport=fake.transport()) as client:
            async with await client.stream("x") as stream:
                async for _ in stream:
                    break
            events = [e async for e in await client.stream("x")]
            assert events[-1].is_final
            return [e.in_flight for e in client._pool.endpoints]

    assert asyncio.run(go()) == [0]


def test_async_last_stats_follow_the_calling_task() -> None:
    fake = FakeTGI([generated("ok")])

    async def go() -> None:
        async with AsyncTGIClient("http://a.test:1", transport=fake.transport()) as client:
            await client.generate("x")
            stats = client.last_stats
            assert stats is not None and stats.attempts == 1 and stats.outcome == "ok"

    asyncio.run(go())


@pytest.mark.parametrize("method", ["generate", "stream", "chat_stream"])
def test_cancelled_async_call_gives_its_endpoint_back(method: str) -> None:
    import httpx2

    async def slow(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(10)
        return httpx2.Response(200, json={"generated_text": "late"})

    async def go() -> list[int]:
        async with AsyncTGIClient("http://a.test:1", transport=httpx2.MockTransport(slow)) as client:
            argument: Any = [{"role": "user", "content": "x"}] if method == "chat_stream" else "x"
            task = asyncio.create_task(getattr(client, method)(argument))
            await asyncio.sleep(0.05)
            assert client._pool.endpoints[0].in_flight == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return [e.in_flight for e in client._pool.endpoints]

    assert asyncio.run(go()) == [0]


def test_chat_stream_cut_raises_interrupted_with_partial_text() -> None:
    import json

    import httpx2

    from orchestrator.client import TGIStreamInterruptedError
    from tests.client.fake_tgi import _Chunks

    def chunk(text: str) -> bytes:
        body = {"object": "chat.completion.chunk", "id": "", "created": 0, "model": "tgi", "system_fingerprint": "x",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "logprobs": None,
                             "finish_reason": None}]}  # fmt: skip
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    def cut(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=_Chunks([chunk("Hel"), chunk("lo")], fail=True))

    client = TGIClient("http://a.test:1", transport=httpx2.MockTransport(cut))
    stream = client.chat_stream([{"role": "user", "content": "x"}])
    received = []
    with pytest.raises(TGIStreamInterruptedError) as info:
        for part in stream:
            received.append(part.choices[0].delta.content)
    assert received == ["Hel", "lo"]
    assert info.value.partial_text == "Hello" and info.value.tokens_received == 2
    assert info.value.stats is stream.stats and info.value.stats.attempts == 1


def test_failed_call_carries_its_statistics() -> None:
    from orchestrator.client import TGIOverloadedError
    from tests.client.fake_tgi import tgi_error

    fake = FakeTGI([tgi_error(429, "overloaded", "Model is overloaded")])
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.001, jitter=0)
    client = TGIClient("http://a.test:1", transport=fake.transport(), policy=policy)
    with pytest.raises(TGIOverloadedError) as info:
        client.generate("x")
    stats = info.value.stats
    assert stats is not None and stats.attempts == 3 and stats.outcome == "attempts"
    assert stats.reasons == ["overloaded (429)"] * 2 and stats.waited > 0


class _Interrupt(BaseException):
    """Stands for KeyboardInterrupt / SystemExit: not an error to translate, but must not leak a replica slot."""


@pytest.mark.parametrize("method", ["generate", "stream"])
def test_interrupted_sync_attempt_gives_its_endpoint_back_and_propagates_unchanged(method: str) -> None:
    import httpx2

    def interrupt(request: httpx2.Request) -> httpx2.Response:
        raise _Interrupt("stop")

    client = TGIClient(["http://a.test:1", "http://b.test:2"], transport=httpx2.MockTransport(interrupt))
    with pytest.raises(_Interrupt, match="stop"):
        getattr(client, method)("x")
    assert [e.in_flight for e in client._pool.endpoints] == [0, 0]
    assert client.last_stats is not None and client.last_stats.attempts == 1


@pytest.mark.parametrize("cls", CLIENTS)
def test_401_hint_says_what_was_sent_and_that_a_url_client_reads_no_environment(
    cls: Any, emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the variable set, `TGIClient(url)` still sends no key: the hint must not tell to set it."""
    from orchestrator.client import TGIAuthenticationError

    monkeypatch.setenv("ORCHESTRATOR_SECRETS__API_KEY", "sk-right-key")
    emu = emulator_factory("--api-key", "sk-right-key")

    def call(client: Any) -> Any:
        if isinstance(client, TGIClient):
            with client:
                return client.generate("hi", max_new_tokens=1)

        async def run() -> Any:
            async with client:
                return await client.generate("hi", max_new_tokens=1)

        return asyncio.run(run())

    with pytest.raises(TGIAuthenticationError) as none_sent:
        call(cls(emu.url))
    message = str(none_sent.value)
    assert "none was sent: pass api_key=..." in message
    assert "a client made from a URL does not read the environment" in message
    assert "or set ORCHESTRATOR_SECRETS__API_KEY" not in message
    with pytest.raises(TGIAuthenticationError) as wrong:
        call(cls(emu.url, api_key=SecretStr("sk-wrong-key")))
    assert "refused the API key sent" in str(wrong.value) and "sk-" not in str(wrong.value)
    settings = load_settings({"host.port": int(emu.url.rsplit(":", 1)[1])}, env_file=None, validate=False)
    assert isinstance(call(cls.from_settings(settings)), str)  # the key from the env, via settings
