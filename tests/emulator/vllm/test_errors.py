"""vLLM's error answers from the emulator: 400 (never 422), 401, 404, 500, 503 and errors inside streams."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.emulator.helpers import get, post
from tests.fixtures.emulator import EmulatorProcess

Factory = Callable[..., EmulatorProcess]
_CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}


def _error(reply: object) -> dict[str, object]:
    body = reply.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return dict(body["error"])


def test_validation_is_400_with_vllms_shapes(vllm_emulator_factory: Factory) -> None:
    url = vllm_emulator_factory("--max-model-len", "128").url
    missing = post(url, "/v1/completions", {"max_tokens": "x"})
    error = _error(missing)
    assert missing.status == 400 and error["type"] == "Bad Request" and error["param"] == "body.prompt"
    assert str(error["message"]).startswith(
        "2 validation errors:\n  {'type': 'missing', 'loc': 'body.prompt'"
    )
    broken = post(url, "/v1/completions", raw=b'{"prompt": ')
    assert broken.status == 400 and "'type': 'json_invalid'" in str(_error(broken)["message"])
    plain = post(url, "/v1/completions", raw=b"{}", headers={"content-type": "text/plain"})
    assert plain.status == 400 and "Only 'application/json' is allowed" in str(_error(plain)["message"])
    long = post(url, "/v1/completions", {"prompt": "word " * 200})
    assert long.status == 400 and _error(long)["param"] == "input_tokens"
    assert "This model's maximum context length is 128 tokens." in str(_error(long)["message"])
    too_many = _error(post(url, "/v1/completions", {"prompt": "a", "max_tokens": 500}))
    assert too_many["message"] == ("max_tokens=500 cannot be greater than max_model_len=128. Please request fewer "
                                   "output tokens. (parameter=max_tokens, value=500)")  # fmt: skip
    options = post(url, "/v1/chat/completions", {**_CHAT, "stream_options": {"include_usage": True}})
    assert options.status == 400 and _error(options)["param"] == "stream_options"
    template = post(url, "/v1/chat/completions", {"messages": [{"role": "assistant", "content": "x"}]})
    assert template.status == 400 and "alternate user/assistant" in str(_error(template)["message"])
    streamed = post(url, "/v1/completions", {"prompt": "a", "max_tokens": 0, "stream": True})
    assert streamed.status == 400 and _error(streamed)["message"] == "max_tokens must be at least 1, got 0."


def test_unknown_model_is_404_naming_the_aliases(vllm_emulator_factory: Factory) -> None:
    url = vllm_emulator_factory("--served-model-name", "m1").url
    reply = post(url, "/v1/chat/completions", {**_CHAT, "model": "gpt-4"})
    assert reply.status == 404 and _error(reply) == {
        "message": "The model `gpt-4` does not exist. Valid aliases: m1.", "type": "NotFoundError",
        "param": "model", "code": 404}  # fmt: skip
    assert post(url, "/v1/chat/completions", {**_CHAT, "model": ""}).status == 200


def test_api_key_guards_v1_only_and_env_key_works(vllm_emulator_factory: Factory) -> None:
    url = vllm_emulator_factory(env={"VLLM_API_KEY": "k1"}).url
    denied = post(url, "/v1/chat/completions", _CHAT)
    assert denied.status == 401 and denied.json() == {"error": "Unauthorized"}
    assert get(url, "/v1/nothing-here").status == 401  # the key check comes before routing under /v1
    assert post(url, "/v1/chat/completions", _CHAT, headers={"Authorization": "bearer k1"}).status == 200
    assert get(url, "/health").status == 200 and get(url, "/metrics").status == 200
    assert post(url, "/tokenize", {"prompt": "x"}).status == 200


def test_busy_engine_is_503(vllm_emulator_factory: Factory) -> None:
    url = vllm_emulator_factory("--max-num-queued-reqs", "0", "--emulator-retry-after", "2").url
    reply = post(url, "/v1/completions", {"prompt": "a"})
    assert reply.status == 503 and reply.headers["retry-after"] == "2"
    assert _error(reply)["type"] == "Service Unavailable"
    assert str(_error(reply)["message"]).startswith("The engine is currently busy")
    assert "vllm:admission_rejections_total{model_name=" in get(url, "/metrics").text


def test_errors_after_the_header_are_stream_events(vllm_emulator_factory: Factory) -> None:
    url = vllm_emulator_factory("--emulator-fault-generation-rate", "1").url
    reply = post(url, "/v1/chat/completions", {**_CHAT, "stream": True, "max_tokens": 5})
    events = reply.events()
    assert reply.status == 200 and events[-1] == "[DONE]"
    assert json.loads(events[-2]) == {"error": {"message": "The server had an error while processing your "
                                                "request.", "type": "InternalServerError", "param": None,
                                                "code": 500}}  # fmt: skip
    plain = post(url, "/v1/completions", {"prompt": "a", "max_tokens": 5})
    assert plain.status == 500 and _error(plain)["type"] == "InternalServerError"
