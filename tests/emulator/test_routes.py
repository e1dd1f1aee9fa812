"""Every route of the emulator over a real socket, bodies validated against TGI's OpenAPI 3.3.7 spec."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import InferenceClient

from tests.emulator.helpers import get, post, validate, validate_response
from tests.fixtures.emulator import EmulatorProcess

TIMING_HEADERS = ("x-total-time", "x-validation-time", "x-queue-time", "x-inference-time", "x-time-per-token")


@pytest.fixture(scope="module")
def client(emulator: EmulatorProcess) -> InferenceClient:
    # explicit api_key: without it huggingface_hub would send the user's HF token to this URL
    return InferenceClient(base_url=emulator.url, api_key="not-a-secret", timeout=30)


def test_health_ping_root_get(emulator: EmulatorProcess) -> None:
    for path in ("/health", "/ping", "/"):
        reply = get(emulator.url, path)
        assert reply.status == 200, path
        assert reply.body == b""


def test_info_has_tgi_3_3_fields(emulator: EmulatorProcess) -> None:
    info = get(emulator.url, "/info").json()
    validate_response(info, "/info", method="get")
    assert info["version"] == "3.3.6-dev0"
    assert info["router"] == "text-generation-router"
    assert info["max_total_tokens"] == 32768 and info["max_input_tokens"] == 32767  # v3 defaults for Mistral
    assert "max_input_length" not in info


def test_generate_body_and_headers(emulator: EmulatorProcess) -> None:
    reply = post(emulator.url, "/generate", {"inputs": "Hello world", "parameters": {"max_new_tokens": 7}})
    assert reply.status == 200
    body = reply.json()
    validate_response(body, "/generate")
    assert set(body) == {"generated_text"}
    headers = reply.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-compute-type"] == "1-nvidia-a100-sxm4-80gb"
    assert float(headers["x-compute-time"]) >= 0 and "." in headers["x-compute-time"]
    assert headers["x-compute-characters"] == "11"
    for name in TIMING_HEADERS:
        assert headers[name].isdigit(), name
    assert headers["x-prompt-tokens"] == "3"  # <s> ▁Hello ▁world
    assert headers["x-generated-tokens"] == "7"


def test_generate_details_and_determinism(emulator: EmulatorProcess) -> None:
    params = {"max_new_tokens": 12, "details": True, "seed": 42, "do_sample": True, "top_n_tokens": 3,
              "decoder_input_details": True}  # fmt: skip
    first = post(emulator.url, "/generate", {"inputs": "Once upon a time", "parameters": params}).json()
    second = post(emulator.url, "/generate", {"inputs": "Once upon a time", "parameters": params}).json()
    validate_response(first, "/generate")
    assert first == second
    details = first["details"]
    assert (
        details["seed"] == 42 and details["finish_reason"] == "length" and details["generated_tokens"] == 12
    )
    assert "".join(t["text"] for t in details["tokens"]) == first["generated_text"]
    assert len(details["top_tokens"]) == 12 and all(len(step) == 3 for step in details["top_tokens"])
    assert details["prefill"][0] == {"id": 1, "text": "<s>", "logprob": None}
    other = post(emulator.url, "/generate", {"inputs": "Once upon a time",
                                             "parameters": {**params, "seed": 43}}).json()  # fmt: skip
    assert other["generated_text"] != first["generated_text"]


def test_generated_tokens_are_real_vocabulary(emulator: EmulatorProcess) -> None:
    from orchestrator.tokens import get_tokenizer

    body = post(
        emulator.url, "/generate", {"inputs": "x", "parameters": {"max_new_tokens": 20, "details": True}}
    )
    tokenizer = get_tokenizer()
    for token in body.json()["details"]["tokens"]:
        assert tokenizer.token_text(token["id"]) == token["text"]


def test_stop_sequence_and_return_full_text(emulator: EmulatorProcess) -> None:
    base = {"max_new_tokens": 10, "seed": 7, "do_sample": True, "details": True}
    full = post(emulator.url, "/generate", {"inputs": "Say", "parameters": base}).json()
    third = full["details"]["tokens"][2]["text"]
    stopped = post(
        emulator.url, "/generate", {"inputs": "Say", "parameters": {**base, "stop": [third]}}
    ).json()
    assert stopped["details"]["finish_reason"] == "stop_sequence"
    assert stopped["generated_text"].endswith(third) and stopped["details"]["generated_tokens"] <= 3
    with_prompt = post(emulator.url, "/generate",
                       {"inputs": "Say", "parameters": {**base, "return_full_text": True}}).json()  # fmt: skip
    assert with_prompt["generated_text"] == "Say" + full["generated_text"]


def test_best_of_returns_sequences(emulator: EmulatorProcess) -> None:
    body = post(emulator.url, "/generate", {"inputs": "Pick", "parameters": {
        "max_new_tokens": 5, "best_of": 2, "do_sample": True, "details": True}}).json()  # fmt: skip
    validate_response(body, "/generate")
    assert len(body["details"]["best_of_sequences"]) == 1


def test_generate_stream_framing(emulator: EmulatorProcess) -> None:
    reply = post(emulator.url, "/generate_stream", {"inputs": "Hi", "parameters": {"max_new_tokens": 4,
                                                                                  "details": True}})  # fmt: skip
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/event-stream"
    assert reply.headers["x-accel-buffering"] == "no" and "x-compute-type" in reply.headers
    assert "x-total-time" not in reply.headers
    assert reply.text.startswith("data: {") and reply.text.endswith("}\n\n")
    assert "event:" not in reply.text and "[DONE]" not in reply.text
    events = [json.loads(e) for e in reply.events()]
    assert [e["index"] for e in events] == [1, 2, 3, 4]
    for event in events:
        validate_response(event, "/generate_stream")
    assert events[0]["generated_text"] is None and events[0]["details"] is None
    assert events[-1]["details"] == {"finish_reason": "length", "generated_tokens": 4, "seed": None,
                                     "input_length": 2}  # fmt: skip
    assert events[-1]["generated_text"] == "".join(e["token"]["text"] for e in events)


def test_compat_root_route(emulator: EmulatorProcess) -> None:
    reply = post(emulator.url, "/", {"inputs": "Hey", "parameters": {"max_new_tokens": 3}})
    body = reply.json()
    validate_response(body, "/")
    assert isinstance(body, list) and body[0]["generated_text"].startswith("Hey")  # full text by default
    stream = post(emulator.url, "/", {"inputs": "Hey", "parameters": {"max_new_tokens": 3}, "stream": True})
    assert len(stream.events()) == 3


def test_inference_client_text_generation(client: InferenceClient) -> None:
    out = client.text_generation("Hello", max_new_tokens=6, details=True, seed=1, do_sample=True)
    assert out.details is not None and out.details.generated_tokens == 6
    tokens = list(client.text_generation("Hello", max_new_tokens=5, stream=True, details=True))
    assert len(tokens) == 5 and tokens[-1].details is not None
    assert tokens[-1].details.input_length == 2


def test_inference_client_chat(client: InferenceClient) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is TGI?"}]
    out = client.chat_completion(messages, max_tokens=8, seed=3)
    assert out.choices[0].finish_reason == "length" and out.usage.completion_tokens == 8
    from orchestrator.tokens import format_chat, get_tokenizer

    expected_prompt = get_tokenizer().count(format_chat(messages), add_bos=False)
    assert out.usage.prompt_tokens == expected_prompt
    assert out.system_fingerprint == "3.3.6-dev0-native"
    chunks = list(client.chat_completion(messages, max_tokens=4, stream=True,
                                         stream_options={"include_usage": True}))  # type: ignore[call-overload]  # fmt: skip
    assert [c.choices[0].finish_reason for c in chunks[:4]] == [None, None, None, "length"]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == expected_prompt + 4


def test_chat_raw_bodies_match_spec(emulator: EmulatorProcess) -> None:
    request = {"model": "tgi", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3,
               "logprobs": True, "top_logprobs": 2}  # fmt: skip
    body = post(emulator.url, "/v1/chat/completions", request).json()
    validate_response(body, "/v1/chat/completions")
    assert body["object"] == "chat.completion" and body["id"] == ""
    assert body["model"] == "bigscience/bloom-560m"  # "tgi" -> the served model id
    assert len(body["choices"][0]["logprobs"]["content"]) == 3
    stream = post(emulator.url, "/v1/chat/completions", {**request, "stream": True, "model": "mine"})
    events = stream.events()
    assert events[-1] == "[DONE]"
    for event in events[:-1]:
        chunk = json.loads(event)
        validate(chunk, "ChatCompletionChunk")
        assert (
            chunk["object"] == "chat.completion.chunk" and chunk["model"] == "mine" and chunk["usage"] is None
        )


def test_chat_template_error(emulator: EmulatorProcess) -> None:
    reply = post(emulator.url, "/v1/chat/completions", {"messages": [{"role": "assistant", "content": "x"}]})
    assert reply.status == 422
    assert reply.json()["error_type"] == "template_error"


def test_completions(emulator: EmulatorProcess) -> None:
    body = post(emulator.url, "/v1/completions", {"prompt": ["a", "b"], "max_tokens": 3}).json()
    validate_response(body, "/v1/completions")
    assert body["object"] == "text_completion" and [c["index"] for c in body["choices"]] == [0, 1]
    assert body["usage"]["completion_tokens"] == 6
    stream = post(emulator.url, "/v1/completions", {"prompt": "a", "max_tokens": 3, "stream": True})
    events = stream.events()
    assert events[-1] == "[DONE]" and len(events) == 4
    for event in events[:-1]:
        validate(json.loads(event), "Chunk")
    suffix = post(emulator.url, "/v1/completions", {"prompt": "a", "suffix": "b"})
    assert suffix.status == 422
    too_many = post(emulator.url, "/v1/completions", {"prompt": ["a"] * 5})
    assert too_many.status == 422 and "maximum allowed batch size of 4" in too_many.json()["error"]


def test_tokenize_and_chat_tokenize(emulator: EmulatorProcess) -> None:
    tokens = post(emulator.url, "/tokenize", {"inputs": "Hello world"}).json()
    validate_response(tokens, "/tokenize")
    assert next(t["id"] for t in tokens) == 1 and [t["text"] for t in tokens][1:] == ["Hello", " world"]
    assert tokens[-1]["stop"] == len("Hello world")
    chat = post(emulator.url, "/chat_tokenize", {"messages": [{"role": "user", "content": "hi"}]}).json()
    validate_response(chat, "/chat_tokenize")
    assert chat["templated_text"] == "<s>[INST] hi [/INST]"


def test_models_and_invocations(emulator: EmulatorProcess) -> None:
    models = get(emulator.url, "/v1/models").json()
    assert models["object"] == "list"
    validate(models["data"][0], "ModelInfo")
    chat = post(
        emulator.url, "/invocations", {"messages": [{"role": "user", "content": "x"}], "max_tokens": 2}
    )
    validate(chat.json(), "ChatCompletion")
    completion = post(emulator.url, "/invocations", {"prompt": "x", "max_tokens": 2})
    validate(completion.json(), "CompletionFinal")
    generate = post(emulator.url, "/invocations", {"inputs": "x", "parameters": {"max_new_tokens": 2}})
    assert generate.status == 200 and generate.json()[0]["generated_text"].startswith("x")


def test_framework_errors_are_plain_text(emulator: EmulatorProcess) -> None:
    missing = post(emulator.url, "/generate", {"parameters": {}})
    assert missing.status == 422 and missing.headers["content-type"].startswith("text/plain")
    assert missing.text.startswith(
        "Failed to deserialize the JSON body into the target type: missing field `inputs`"
    )
    bad_json = post(emulator.url, "/generate", raw=b"{not json")
    assert bad_json.status == 400 and bad_json.text.startswith("Failed to parse the request body as JSON")
    wrong_type = post(
        emulator.url, "/generate", raw=b'{"inputs":"x"}', headers={"content-type": "text/plain"}
    )
    assert (
        wrong_type.status == 415
        and wrong_type.text == "Expected request with `Content-Type: application/json`"
    )
    negative = post(emulator.url, "/generate", {"inputs": "x", "parameters": {"max_new_tokens": -1}})
    assert negative.status == 422 and negative.headers["content-type"].startswith("text/plain")
    assert get(emulator.url, "/nope").status == 404
    assert get(emulator.url, "/generate").status == 405


def test_metrics_names_and_values(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    process = emulator_factory()
    for _ in range(3):
        post(process.url, "/generate", {"inputs": "Hi", "parameters": {"max_new_tokens": 2}})
    post(process.url, "/generate", {"inputs": "Hi", "parameters": {"temperature": 0}})
    text = get(process.url, "/metrics").text
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert lines["tgi_request_count"] == "4"
    assert lines["tgi_request_success"] == "3"
    assert lines['tgi_request_failure{err="validation"}'] == "1"
    assert lines["tgi_request_duration_count"] == "3"
    assert lines["tgi_request_generated_tokens_sum"] == "6"
    assert lines["tgi_queue_size"] == "0" and lines["tgi_batch_current_size"] == "0"
    counters = [
        line.split()[2]
        for line in text.splitlines()
        if line.startswith("# TYPE") and line.endswith("counter")
    ]
    assert counters and not any(name.endswith("_total") for name in counters)
    buckets = [line for line in text.splitlines() if line.startswith("tgi_request_duration_bucket")]
    assert len(buckets) == 36  # 35 geometric buckets + +Inf
    assert buckets[0].startswith('tgi_request_duration_bucket{le="0.00015"}')


def test_emulator_record(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    process = emulator_factory()
    post(process.url, "/generate_stream", {"inputs": "Hi", "parameters": {"max_new_tokens": 5}})
    record = get(process.url, "/emulator/requests").json()
    assert record["count"] == 1
    entry = record["requests"][0]
    assert entry["generated_tokens"] == 5 and entry["stream"] is True and entry["ttft_s"] >= 0
    assert entry["ttft_sent_s"] >= entry["ttft_s"]
    assert get(process.url, "/emulator/summary").json()["successful"] == 1
    from tests.emulator.helpers import request

    assert request(process.url, "DELETE", "/emulator/requests").json() == {"cleared": 1}
    assert get(process.url, "/emulator/requests").json()["count"] == 0


def test_openapi_document_and_docs(emulator: EmulatorProcess) -> None:
    document = get(emulator.url, "/api-doc/openapi.json").json()
    assert "/generate_stream" in document["paths"]
    assert get(emulator.url, "/docs").status == 200
    assert "tgi_batch_max_total_tokens 536720" in get(emulator.url, "/metrics").text


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}


def test_chat_tool_calls(emulator: EmulatorProcess, client: InferenceClient) -> None:
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    body = post(
        emulator.url, "/v1/chat/completions", {"messages": messages, "tools": [WEATHER_TOOL], "seed": 1}
    )
    data = body.json()
    validate_response(data, "/v1/chat/completions")
    call = data["choices"][0]["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    arguments = call["function"]["arguments"]  # TGI 3.x: a JSON object, not a string
    assert call["function"]["description"] is None
    assert isinstance(arguments["city"], str) and isinstance(arguments["days"], int)
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"]["completion_tokens"] > 3
    chunks = list(client.chat_completion(messages, tools=[WEATHER_TOOL], stream=True, seed=1))  # type: ignore[list-item]
    streamed = "".join(c.choices[0].delta.tool_calls[0].function.arguments for c in chunks)
    assert json.loads(streamed) == arguments
    assert chunks[0].choices[0].delta.tool_calls[0].function.name == "get_weather"
    none = post(emulator.url, "/v1/chat/completions",
                {"messages": messages, "tools": [WEATHER_TOOL], "tool_choice": "none", "max_tokens": 2})  # fmt: skip
    assert none.json()["choices"][0]["message"]["content"]
    unknown = post(emulator.url, "/v1/chat/completions", {"messages": messages, "tools": [WEATHER_TOOL],
                                                          "tool_choice": {"type": "function",
                                                                          "function": {"name": "nope"}}})  # fmt: skip
    assert unknown.status == 422 and unknown.json()["error_type"] == "tool_error"
    untyped = post(emulator.url, "/v1/chat/completions", {"messages": messages, "tools": [WEATHER_TOOL],
                                                          "tool_choice": {"function": {"name": "nope"}}})  # fmt: skip
    assert untyped.status == 422 and untyped.text.startswith(  # TypedChoice is tagged by `type`
        "Failed to deserialize the JSON body into the target type: tool_choice: data did not match any variant "
        "of untagged enum ToolTypeDeserializer at line 1 column "
    ), untyped.text
    cut = post(
        emulator.url, "/v1/chat/completions", {"messages": messages, "tools": [WEATHER_TOOL], "max_tokens": 2}
    )
    assert cut.status == 422 and cut.json()["error_type"] == "tool_error"


def test_completions_stream_interleaves_prompts(emulator: EmulatorProcess) -> None:
    reply = post(
        emulator.url, "/v1/completions", {"prompt": ["a", "b", "c"], "max_tokens": 4, "stream": True}
    )
    events = reply.events()
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    indexes = [c["choices"][0]["index"] for c in chunks]
    assert sorted(indexes) == [0] * 4 + [1] * 4 + [2] * 4
    assert indexes != sorted(indexes)  # generated together, not one prompt after another
    finals = [c for c in chunks if c["choices"][0]["finish_reason"] == "length"]
    assert len(finals) == 3 and all(c["usage"]["completion_tokens"] == 4 for c in finals)


def test_completions_default_max_tokens_is_100(emulator: EmulatorProcess) -> None:
    body = post(emulator.url, "/v1/completions", {"prompt": "Tell me"}).json()
    assert body["usage"]["completion_tokens"] == 100 and body["choices"][0]["finish_reason"] == "length"


def test_eos_finish_reasons(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    process = emulator_factory("--emulator-eos-rate", "1")
    body = post(
        process.url, "/generate", {"inputs": "x", "parameters": {"max_new_tokens": 5, "details": True}}
    ).json()
    details = body["details"]
    assert details["finish_reason"] == "eos_token" and details["generated_tokens"] == 1
    assert details["tokens"][0] == {"id": 2, "text": "</s>", "logprob": details["tokens"][0]["logprob"],
                                    "special": True}  # fmt: skip
    assert body["generated_text"] == ""  # special tokens are skipped in the text
    chat = post(process.url, "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]}).json()
    assert chat["choices"][0]["finish_reason"] == "stop"  # EOS is "stop" in chat
    stream = post(
        process.url, "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "stream": True}
    )
    first = json.loads(stream.events()[0])
    assert first["choices"][0]["delta"]["content"] == "" and first["choices"][0]["finish_reason"] == "stop"
