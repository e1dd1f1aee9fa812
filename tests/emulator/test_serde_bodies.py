"""Issue 10 items 3-7: request bodies are read as TGI 3.3.7's serde types, with serde_json's texts and positions,
and every JSON the emulator writes is compact. Expected texts are worked out by hand from serde / serde_json rules
(the column is bytes up to where the reader stands), against a real emulator process."""

from __future__ import annotations

import json
import re

import pytest

from tests.emulator.helpers import get, post
from tests.fixtures.emulator import EmulatorProcess

DATA = "Failed to deserialize the JSON body into the target type: "
SYNTAX = "Failed to parse the request body as JSON: "
HI = [{"role": "user", "content": "hi"}]


def raw(emulator: EmulatorProcess, path: str, body: bytes) -> tuple[int, str, str]:
    reply = post(emulator.url, path, raw=body)
    return reply.status, reply.headers.get("content-type", ""), reply.text


# item 3: empty prompt list -------------------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True])
def test_empty_prompt_list_is_serde_422(emulator: EmulatorProcess, stream: bool) -> None:
    body = b'{"prompt":[],"stream":true}' if stream else b'{"prompt":[]}'
    status, content_type, text = raw(emulator, "/v1/completions", body)
    column = 12 if stream else 13  # stream: the reader stops at the comma; else after the closing brace
    assert status == 422 and content_type.startswith("text/plain")
    assert text == (f"{DATA}prompt: Empty array detected. Do not use an empty array for the prompt. "
                    f"at line 1 column {column}")  # fmt: skip


def test_empty_prompt_list_on_invocations(emulator: EmulatorProcess) -> None:
    status, _, text = raw(emulator, "/invocations", b'{"prompt":[]}')
    assert (status, text) == (422, f"{DATA}data did not match any variant of untagged enum SagemakerRequest")


# item 4: typed fields, not truthiness ----------------------------------------------------------------------------
# (route, body, serde's message, the body's text up to where serde_json's reader stands when it reports it:
#  after a scalar it has read, before the bracket of a sequence or map)
TYPE_ERRORS = [
    (
        "/v1/chat/completions",
        b'{"messages":[{"role":"user","content":"hi"}],"stream":"yes"}',
        'stream: invalid type: string "yes", expected a boolean',
        b'"yes"',
    ),
    (
        "/v1/completions",
        b'{"prompt":"x","stream":1}',
        "stream: invalid type: integer `1`, expected a boolean",
        b":1",
    ),
    (
        "/v1/completions",
        b'{"prompt":"x","stream":[null]}',
        "stream: invalid type: sequence, expected a boolean",
        b'"stream":',
    ),
    ("/", b'{"inputs":"x","stream":null}', "stream: invalid type: null, expected a boolean", b"null"),
    (
        "/generate",
        b'{"inputs":"x","parameters":{"details":"true"}}',
        'parameters.details: invalid type: string "true", expected a boolean',
        b'"true"',
    ),
    (
        "/generate",
        b'{"inputs":"x","parameters":{"max_new_tokens":-1}}',
        "parameters.max_new_tokens: invalid value: integer `-1`, expected u32",
        b"-1",
    ),
    (
        "/generate",
        b'{"inputs":"x","parameters":{"temperature":true}}',
        "parameters.temperature: invalid type: boolean `true`, expected f32",
        b"true",
    ),
    (
        "/generate",
        b'{"inputs":"x","parameters":{"seed":1.5}}',
        "parameters.seed: invalid type: floating point `1.5`, expected u64",
        b"1.5",
    ),
    (
        "/generate",
        b'{"inputs":"x","parameters":{"top_k":3000000000}}',
        "parameters.top_k: invalid value: integer `3000000000`, expected i32",
        b"3000000000",
    ),
    (
        "/generate",
        b'{"inputs":"x","parameters":null}',
        "parameters: invalid type: null, expected struct GenerateParameters",
        b"null",
    ),
    (
        "/v1/chat/completions",
        b'{"messages":[{"role":"user","content":"hi"}],"stop":"x"}',
        'stop: invalid type: string "x", expected a sequence',
        b'"x"',
    ),
    (
        "/v1/chat/completions",
        b'{"messages":[{"role":"user","content":"hi"}],"stream_options":null}',
        "stream_options: invalid type: null, expected struct StreamOptions",
        b"null",
    ),
]


@pytest.mark.parametrize(("path", "body", "message", "upto"), TYPE_ERRORS)
def test_type_errors_name_the_value_and_position(
    emulator: EmulatorProcess, path: str, body: bytes, message: str, upto: bytes
) -> None:
    column = body.rindex(upto) + len(upto)
    status, content_type, text = raw(emulator, path, body)
    assert (status, text) == (422, f"{DATA}{message} at line 1 column {column}")
    assert content_type.startswith("text/plain")


def test_first_error_in_document_order_wins(emulator: EmulatorProcess) -> None:
    # serde stops at the first bad value: the later syntax error and the missing `messages` are never seen
    status, _, text = raw(emulator, "/v1/chat/completions", b'{"stream":"no","n":tru')
    assert (status, text) == (
        422,
        f'{DATA}stream: invalid type: string "no", expected a boolean at line 1 column 14',
    )


# item 5: chat messages -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("message", "column"),
    [
        (b'{"role":"user"}', 28),
        (b'{"role":"user","content":5}', 40),
        (b'{"role":"user","content":[{"x":1}]}', 48),
    ],
)
def test_message_body_must_match_a_variant(emulator: EmulatorProcess, message: bytes, column: int) -> None:
    status, _, text = raw(emulator, "/v1/chat/completions", b'{"messages":[' + message + b"]}")
    expected = f"{DATA}messages[0]: data did not match any variant of untagged enum MessageBody at line 1 column {column}"
    assert (status, text) == (422, expected)


def test_message_role_is_required_and_typed(emulator: EmulatorProcess) -> None:
    status, _, text = raw(emulator, "/v1/chat/completions", b'{"messages":[{"content":"x"}]}')
    assert (status, text) == (422, f"{DATA}messages[0]: missing field `role` at line 1 column 28")
    status, _, text = raw(emulator, "/v1/chat/completions", b'{"messages":[{"role":5,"content":"x"}]}')
    assert (status, text) == (422, f"{DATA}messages[0].role: invalid type: integer `5`, expected a string "
                                   "at line 1 column 22")  # fmt: skip


def test_chunked_content_is_accepted(emulator: EmulatorProcess) -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "max_tokens": 2}
    assert post(emulator.url, "/v1/chat/completions", body).status == 200


# item 6: serde_json's syntax texts and positions ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"inputs":"abc",', "EOF while parsing a value at line 1 column 16"),
        (b'{"inputs":"abc"', "EOF while parsing an object at line 1 column 15"),
        (b"{1:2}", "key must be a string at line 1 column 2"),
        (b"", "EOF while parsing a value at line 1 column 0"),
        (b"nope", "expected ident at line 1 column 2"),
        (b"{\n  \"inputs\": x}", "inputs: expected value at line 2 column 13"),
        (b'{"inputs":"a\\q"}', "inputs: invalid escape at line 1 column 14"),
        (b'{"inputs":"a\x01"}', "inputs: control character (\\u0000-\\u001F) found while parsing a string "
         "at line 1 column 13"),
        (b'{"inputs":"x","parameters":{"stop":["a",]}}', "parameters.stop: trailing comma at line 1 column 41"),
        (b'{"inputs":"x" "parameters":{}}', "expected `,` or `}` at line 1 column 15"),
        (b'{"inputs":"\xc3\xa9\xff"}', "inputs: invalid unicode code point at line 1 column 15"),
        (b'["x",{},3]', "trailing characters at line 1 column 9"),
        (b'{"inputs":"x","parameters":{"seed":' + b"1" * 5000 + b"}}",
         "parameters.seed: number out of range at line 1 column 5035"),
    ],
)  # fmt: skip
def test_syntax_errors_use_serde_json_texts(emulator: EmulatorProcess, body: bytes, message: str) -> None:
    status, content_type, text = raw(emulator, "/generate", body)
    assert (status, text) == (400, SYNTAX + message)
    assert content_type.startswith("text/plain")


def test_struct_rules(emulator: EmulatorProcess) -> None:
    assert raw(emulator, "/generate", b'{"inputs":"x","inputs":"y"}')[::2] == (
        422, f"{DATA}duplicate field `inputs` at line 1 column 22")  # fmt: skip
    assert raw(emulator, "/generate", b'{"parameters":{}}')[::2] == (
        422, f"{DATA}missing field `inputs` at line 1 column 17")  # fmt: skip
    assert raw(emulator, "/generate", b"[]")[::2] == (
        422, f"{DATA}invalid length 0, expected struct GenerateRequest with 2 elements at line 1 column 2")  # fmt: skip
    # unknown fields are ignored but still parsed; a struct may also be given as a sequence, like serde allows
    assert post(emulator.url, "/generate", raw=b'{"inputs":"x","zz":[1,{"a":null}],"parameters":'
                                               b'{"max_new_tokens":1}}').status == 200  # fmt: skip
    assert post(emulator.url, "/generate", raw=b'["x",{"max_new_tokens":1}]').status == 200


def test_wrong_content_type_is_axum_415(emulator: EmulatorProcess) -> None:
    reply = post(emulator.url, "/generate", raw=b'{"inputs":"x"}', headers={"content-type": "text/plain"})
    assert (reply.status, reply.text) == (415, "Expected request with `Content-Type: application/json`")


# item 7: compact JSON and model_sha ------------------------------------------------------------------------------
def test_stream_events_are_compact_json(emulator: EmulatorProcess) -> None:
    completion = post(
        emulator.url, "/v1/completions", {"prompt": "caf\u00e9", "max_tokens": 3, "stream": True}
    )
    chat_error = post(emulator.url, "/v1/chat/completions",
                      {"messages": HI, "stream": True, "stop": ["a", "b", "c", "d", "é"]})  # fmt: skip
    events = [*completion.events(), *chat_error.events()]
    payloads = [e for e in events if e != "[DONE]"]
    assert payloads and any('"error":{' in e for e in payloads), events
    for event in payloads:
        assert event == json.dumps(json.loads(event), separators=(",", ":"), ensure_ascii=False), event


def test_info_model_sha_is_a_commit(emulator: EmulatorProcess) -> None:
    sha = get(emulator.url, "/info").json()["model_sha"]
    assert re.fullmatch(r"[0-9a-f]{40}", sha), sha
    assert get(emulator.url, "/info").json()["model_sha"] == sha
