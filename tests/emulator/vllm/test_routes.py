"""vLLM's routes and bodies from the emulator over real sockets: shapes, ids, SSE framing, clamping, stopping."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.tokens import get_tokenizer
from tests.emulator.helpers import get, post, request
from tests.fixtures.emulator import VLLM_MODEL, EmulatorProcess

Factory = Callable[..., EmulatorProcess]


@pytest.fixture(scope="module")
def server() -> Any:
    with EmulatorProcess([VLLM_MODEL, "--max-model-len", "64", "--served-model-name", "mistral", "other"],
                         engine="vllm") as process:  # fmt: skip
        yield process


def test_health_ping_version_load(server: EmulatorProcess) -> None:
    for method, path in (("GET", "/health"), ("GET", "/ping"), ("POST", "/ping")):
        reply = request(server.url, method, path)
        assert reply.status == 200 and reply.body == b""
    assert get(server.url, "/version").json() == {"version": "0.33.0"}
    assert get(server.url, "/load").json() == {"server_load": 0}


def test_models_lists_every_served_name(server: EmulatorProcess) -> None:
    cards = get(server.url, "/v1/models").json()
    assert cards["object"] == "list" and [c["id"] for c in cards["data"]] == ["mistral", "other"]
    card = cards["data"][0]
    assert card["owned_by"] == "vllm" and card["root"] == VLLM_MODEL and card["max_model_len"] == 64
    assert card["permission"][0]["id"].startswith("modelperm-")


def test_unknown_route_and_wrong_method_are_fastapis(server: EmulatorProcess) -> None:
    assert (get(server.url, "/generate").status, get(server.url, "/generate").json()) == (
        404,
        {"detail": "Not Found"},
    )
    wrong = get(server.url, "/v1/completions")
    assert wrong.status == 405 and wrong.json() == {"detail": "Method Not Allowed"}


def test_completion_body_has_every_key_and_the_served_name(server: EmulatorProcess) -> None:
    body = post(server.url, "/v1/completions", {"prompt": "Hello", "model": "other"}).json()
    assert body["model"] == "mistral"  # the first served name answers for every alias
    assert set(body) >= {"id", "object", "created", "model", "choices", "service_tier", "system_fingerprint",
                         "usage", "kv_transfer_params"}  # fmt: skip
    choice = body["choices"][0]
    assert set(choice) >= {"index", "text", "logprobs", "finish_reason", "stop_reason", "token_ids",
                           "prompt_logprobs", "prompt_token_ids"}  # fmt: skip
    assert body["usage"]["completion_tokens"] == 16  # max_tokens defaults to 16
    assert body["usage"]["prompt_tokens_details"] is None


def test_ids_follow_the_request_id_header_or_field(server: EmulatorProcess) -> None:
    by_header = post(server.url, "/v1/completions", {"prompt": "a", "max_tokens": 1},
                     headers={"X-Request-Id": "abc"}).json()  # fmt: skip
    by_field = post(server.url, "/v1/chat/completions", {"messages": [{"role": "user", "content": "a"}],
                                                         "max_tokens": 1, "request_id": "xyz"}).json()  # fmt: skip
    plain = post(server.url, "/v1/completions", {"prompt": "a", "max_tokens": 1}).json()
    assert by_header["id"] == "cmpl-abc" and by_field["id"] == "chatcmpl-xyz"
    assert plain["id"].startswith("cmpl-") and len(plain["id"]) == len("cmpl-") + 16


def test_sse_framing_ends_with_done(server: EmulatorProcess) -> None:
    reply = post(server.url, "/v1/completions", {"prompt": "Hello", "max_tokens": 3, "stream": True})
    assert reply.status == 200 and reply.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert reply.text.endswith("data: [DONE]\n\n") and "event:" not in reply.text
    events = reply.events()
    chunks = [json.loads(e) for e in events[:-1]]
    assert len(chunks) == 3 and all(c["object"] == "text_completion" for c in chunks)
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, None, "length"]


def test_max_tokens_is_clamped_to_the_context_left(server: EmulatorProcess) -> None:
    prompt = "one two three four five six seven eight"
    prompt_tokens = get_tokenizer().count(prompt)
    body = post(server.url, "/v1/completions", {"prompt": prompt, "max_tokens": 60}).json()
    assert body["usage"]["completion_tokens"] == 64 - prompt_tokens
    assert body["choices"][0]["finish_reason"] == "length"
    chat = post(server.url, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}).json()
    assert chat["usage"]["total_tokens"] == 64  # no max_tokens: the whole context left


def test_stop_token_ids_min_tokens_and_ignore_eos(server: EmulatorProcess) -> None:
    first = post(server.url, "/v1/completions", {"prompt": "Hello", "max_tokens": 8, "temperature": 0}).json()
    ids = get_tokenizer().encode(
        first["choices"][0]["text"].lstrip(), add_bos=False
    )  # word pieces round-trip
    stopped = post(server.url, "/v1/completions", {"prompt": "Hello", "max_tokens": 8, "temperature": 0,
                                                   "stop_token_ids": [ids[2]]}).json()  # fmt: skip
    assert stopped["choices"][0]["finish_reason"] == "stop" and stopped["choices"][0]["stop_reason"] == ids[2]
    assert stopped["usage"]["completion_tokens"] == ids.index(ids[2]) + 1
    held = post(server.url, "/v1/completions", {"prompt": "Hello", "max_tokens": 8, "temperature": 0,
                                                "stop_token_ids": [ids[2]], "min_tokens": 8,
                                                "ignore_eos": True}).json()  # fmt: skip
    assert held["choices"][0]["finish_reason"] == "length" and held["usage"]["completion_tokens"] == 8


def test_tokenize_and_detokenize_use_the_real_tokenizer(server: EmulatorProcess) -> None:
    tokens = post(server.url, "/tokenize", {"prompt": "Hello world", "return_token_strs": True}).json()
    assert tokens == {"count": 3, "max_model_len": 64, "tokens": [1, 22557, 1526],
                      "token_strs": ["<s>", "\u2581Hello", "\u2581world"]}  # fmt: skip
    chat = post(server.url, "/tokenize", {"messages": [{"role": "user", "content": "hi"}]}).json()
    assert chat["tokens"] == get_tokenizer().encode("<s>[INST] hi [/INST]", add_bos=False)
    assert post(server.url, "/detokenize", {"tokens": [22557, 1526]}).json() == {"prompt": "Hello world"}


def test_n_choices_and_logprobs(server: EmulatorProcess) -> None:
    body = post(server.url, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}],
                                                     "max_tokens": 2, "n": 2, "logprobs": True,
                                                     "top_logprobs": 2}).json()  # fmt: skip
    assert [c["index"] for c in body["choices"]] == [0, 1] and body["usage"]["completion_tokens"] == 4
    content = body["choices"][0]["logprobs"]["content"]
    assert len(content) == 2 and len(content[0]["top_logprobs"]) == 2
