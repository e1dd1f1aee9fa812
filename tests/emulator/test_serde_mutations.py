"""Issue 10 item 3 ("no input may produce a 500"): mutated bodies only ever give axum's 400 / 422 rejections or a
typed value, on every route's schema, and the reader's grammar agrees with Python's JSON parser. Pure logic over
`schema.parse` (the HTTP side is covered by test_serde_bodies.py and scripts/fuzz_emulator.py)."""

from __future__ import annotations

import json
import random

import pytest

from orchestrator.emulator.tgi.errors import PlainError
from orchestrator.emulator.tgi.jsonreader import DeError, Reader
from orchestrator.emulator.tgi.schema import CHAT, COMPAT, COMPLETION, GENERATE, SAGEMAKER, Type, parse

SEEDS = [
    b'{"inputs":"hi","parameters":{"max_new_tokens":5,"stop":["a"],"grammar":{"type":"json","value":'
    b'{"properties":{}}},"details":true,"seed":3,"temperature":0.5},"stream":false}',
    b'{"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":'
    b'{"url":"x"}}]},{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"f",'
    b'"arguments":{}}}]}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":'
    b'{"type":"function","function":{"name":"f"}},"stream_options":{"include_usage":true}}',
    b'{"prompt":["a","b"],"max_tokens":3,"stream":true,"stop":["x"],"suffix":null}',
    b'["x",{"max_new_tokens":1},true]',
]
ALPHABET = b'{}[],:"\\ntruefalsnul0123456789.-+eE \x00\xff\xc3\xa9u'


def _mutations(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        body = bytearray(rng.choice(SEEDS))
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(body) + 1)
            roll = rng.random()
            if roll < 0.4 and body:
                del body[min(position, len(body) - 1)]
            elif roll < 0.8:
                body[position:position] = bytes([rng.choice(ALPHABET)])
            else:
                del body[position:]
        out.append(bytes(body))
    return out


@pytest.mark.parametrize("schema", [GENERATE, COMPAT, CHAT, COMPLETION, SAGEMAKER])
def test_mutated_bodies_are_values_or_rejections(schema: Type) -> None:
    accepted = rejected = 0
    for body in _mutations(7, 3000):
        try:
            parse(body, schema)
            accepted += 1
        except PlainError as error:
            assert error.status in (400, 422), (body, error.text)
            rejected += 1
    assert rejected > 0


def test_grammar_agrees_with_python_json() -> None:
    for body in _mutations(11, 5000):
        if b"\\u" in body:  # Python accepts lone surrogates, serde_json does not
            continue
        reader = Reader(body)
        try:
            reader.content(())
            ours = reader.ws() is None
        except DeError:
            ours = False
        try:
            json.loads(body)
            theirs = True
        except ValueError:
            theirs = False
        assert ours == theirs, body
