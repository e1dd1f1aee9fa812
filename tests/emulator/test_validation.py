"""Every 422 rule of TGI 3.3.x's router, with its message text, on `/generate`, in streams and in chat."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulator.helpers import post, validate_response
from tests.fixtures.emulator import EmulatorProcess

# Limits chosen so every rule can be hit with short prompts.
ARGS = ("--max-input-tokens", "20", "--max-total-tokens", "30", "--max-best-of", "2", "--max-stop-sequences", "2",
        "--max-top-n-tokens", "3")  # fmt: skip

LONG = " ".join(["word"] * 25)  # 26 tokens with BOS: over max_input_tokens=20

RULES: list[tuple[str, str, dict[str, Any], str]] = [
    ("total", "short prompt", {"max_new_tokens": 28},
     "`inputs` tokens + `max_new_tokens` must be <= 30. Given: 3 `inputs` tokens and 28 `max_new_tokens`"),
    ("input", LONG, {"max_new_tokens": 1}, "`inputs` must have less than 20 tokens. Given: 26"),
    ("empty", "", {"max_new_tokens": 1}, "`inputs` cannot be empty"),
    ("max_new_zero", "x", {"max_new_tokens": 0}, "`max_new_tokens` must be strictly positive"),
    ("temperature", "x", {"temperature": 0.0}, "`temperature` must be strictly positive"),
    ("top_k", "x", {"top_k": 0}, "`top_k` must be strictly positive"),
    ("repetition", "x", {"repetition_penalty": 0.0}, "`repetition_penalty` must be strictly positive"),
    ("frequency", "x", {"frequency_penalty": 2.5}, "`frequency_penalty` must be >= -2.0 and <= 2.0"),
    ("top_p_one", "x", {"top_p": 1.0}, "`top_p` must be > 0.0 and < 1.0"),
    ("top_p_zero", "x", {"top_p": 0.0}, "`top_p` must be > 0.0 and < 1.0"),
    ("typical_p", "x", {"typical_p": 1.0}, "`typical_p` must be > 0.0 and < 1.0"),
    ("stop", "x", {"stop": ["a", "b", "c"]}, "`stop` supports up to 2 stop sequences. Given: 3"),
    ("top_n", "x", {"top_n_tokens": 4}, "`top_n_tokens` must be >= 0 and <= 3. Given: 4"),
    ("truncate_zero", "x", {"truncate": 0}, "`truncate` must be strictly positive and less than 20. Given: 0"),
    ("truncate_big", "x", {"truncate": 21}, "`truncate` must be strictly positive and less than 20. Given: 21"),
    ("best_of_max", "x", {"best_of": 3, "do_sample": True}, "`best_of` must be > 0 and <= 2. Given: 3"),
    ("best_of_sampling", "x", {"best_of": 2}, "you must use sampling when `best_of` is > 1"),
    ("best_of_seed", "x", {"best_of": 2, "do_sample": True, "seed": 1}, "`seed` must not be set when `best_of` > 1"),
    ("grammar_props", "x", {"grammar": {"type": "json", "value": {"type": "object"}}},
     "grammar is not valid: Grammar must have a 'properties' field"),
]  # fmt: skip


@pytest.fixture(scope="module")
def limited() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(ARGS) as process:
        yield process


@pytest.mark.parametrize(("name", "inputs", "parameters", "message"), RULES, ids=[r[0] for r in RULES])
def test_rule_on_generate(limited: EmulatorProcess, name: str, inputs: str, parameters: dict[str, Any],
                          message: str) -> None:  # fmt: skip
    reply = post(limited.url, "/generate", {"inputs": inputs, "parameters": parameters})
    assert reply.status == 422, reply.text
    body = reply.json()
    validate_response(body, "/generate", 422)
    assert body == {"error": f"Input validation error: {message}", "error_type": "validation"}


@pytest.mark.parametrize(("name", "inputs", "parameters", "message"),
                         [r for r in RULES if not r[0].startswith("best_of")], ids=lambda v: str(v)[:20])  # fmt: skip
def test_rule_in_stream_is_an_sse_event(limited: EmulatorProcess, name: str, inputs: str,
                                        parameters: dict[str, Any], message: str) -> None:  # fmt: skip
    reply = post(limited.url, "/generate_stream", {"inputs": inputs, "parameters": parameters})
    assert reply.status == 200
    events = reply.events()
    assert len(events) == 1
    assert json.loads(events[0]) == {
        "error": f"Input validation error: {message}",
        "error_type": "validation",
    }


def test_stream_only_rules(limited: EmulatorProcess) -> None:
    best_of = post(
        limited.url, "/generate_stream", {"inputs": "x", "parameters": {"best_of": 2, "do_sample": True}}
    )
    assert json.loads(best_of.events()[0])["error"] == (
        "Input validation error: `best_of` != 1 is not supported when streaming tokens"
    )
    prefill = post(
        limited.url, "/generate_stream", {"inputs": "x", "parameters": {"decoder_input_details": True}}
    )
    assert json.loads(prefill.events()[0])["error"] == (
        "Input validation error: `decoder_input_details` == true is not supported when streaming tokens"
    )


def test_chat_stream_error_shape(limited: EmulatorProcess) -> None:
    reply = post(limited.url, "/v1/chat/completions",
                 {"messages": [{"role": "user", "content": LONG}], "max_tokens": 1, "stream": True})  # fmt: skip
    assert reply.status == 200
    events = reply.events()
    assert events[-1] == "[DONE]"
    error = json.loads(events[0])["error"]
    assert error["http_status_code"] == 422 and error["message"].startswith(
        "Input validation error: `inputs`"
    )


def test_chat_maps_parameters(limited: EmulatorProcess) -> None:
    messages = [{"role": "user", "content": "x"}]
    zero = post(
        limited.url, "/v1/chat/completions", {"messages": messages, "max_tokens": 2, "temperature": 0}
    )
    assert zero.status == 200  # temperature 0 means greedy in chat, not a validation error
    presence = post(limited.url, "/v1/chat/completions",
                    {"messages": messages, "max_tokens": 2, "presence_penalty": -2.0})  # fmt: skip
    assert (
        presence.json()["error"] == "Input validation error: `repetition_penalty` must be strictly positive"
    )


def test_defaulted_max_new_tokens_fills_budget(limited: EmulatorProcess) -> None:
    body = post(limited.url, "/generate", {"inputs": "short prompt", "parameters": {"details": True}}).json()
    assert body["details"]["generated_tokens"] == 30 - 3  # v3: max_total_tokens - input tokens


def test_grammar_disabled() -> None:
    with EmulatorProcess(["--disable-grammar-support"]) as process:
        reply = post(process.url, "/generate", {"inputs": "x", "parameters": {
            "grammar": {"type": "json", "value": {"properties": {}}}}})  # fmt: skip
        assert reply.json()["error"] == "Input validation error: grammar is not supported"


def test_explicit_max_new_tokens_beyond_rounds_ends_with_length(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    """v3.2+: the total check uses min(max_new_tokens, 1024); generation stops when another 1024-token round
    would not fit max_total_tokens (here 3 + 3 x 1024 = 3075; a 4th round would need 4099 > 4096)."""
    process = emulator_factory("--max-total-tokens", "4096")
    body = post(process.url, "/generate", {"inputs": "short prompt", "parameters": {"max_new_tokens": 5000,
                                                                                    "details": True}})  # fmt: skip
    assert body.status == 200
    assert body.json()["details"]["generated_tokens"] == 3072
    assert body.json()["details"]["finish_reason"] == "length"


def test_response_format_shapes(limited: EmulatorProcess) -> None:
    messages = [{"role": "user", "content": "x"}]
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    for response_format in (
        {"type": "json", "value": schema},
        {"type": "json_schema", "value": {"name": "s", "schema": schema}},
        {"type": "json_object", "value": schema},
    ):
        reply = post(limited.url, "/v1/chat/completions",
                     {"messages": messages, "max_tokens": 2, "response_format": response_format})  # fmt: skip
        assert reply.status == 200, (response_format, reply.text)
    # GrammarType is adjacently tagged (`type` + `value`): OpenAI's shapes without `value` are refused by serde
    for response_format in (
        {"type": "json_schema", "json_schema": {"schema": schema}},
        {"type": "json_object"},
    ):
        reply = post(
            limited.url, "/v1/chat/completions", {"messages": messages, "response_format": response_format}
        )
        assert reply.status == 422 and "response_format: missing field `value`" in reply.text, reply.text
    bad = post(limited.url, "/v1/chat/completions", {"messages": messages, "max_tokens": 2,
                                                     "response_format": {"type": "json", "value": {}}})  # fmt: skip
    assert bad.status == 422 and "Grammar must have a 'properties' field" in bad.json()["error"]
