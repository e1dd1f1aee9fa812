"""The one SSE parser (`orchestrator.formats.sse`): its line grammar, and the client, smoke and load readers over it."""

from __future__ import annotations

import json

import pytest

from orchestrator.formats.sse import DONE, SSEDecoder, data_value
from orchestrator.load.sse import ChatStreamReader
from orchestrator.smoke.sse import data_payloads


@pytest.mark.parametrize(
    ("line", "value"),
    [
        (b'data: {"a":1}', b'{"a":1}'),  # TGI >= 2.1
        (b'data:{"a":1}', b'{"a":1}'),  # TGI <= 2.0
        (b'data: {"a":1}\n', b'{"a":1}'),  # as the load users read it, line end included
        (b'data: {"a":1}\r\n', b'{"a":1}'),
        (b"data:  two spaces", b" two spaces"),  # only one leading space belongs to the framing
        (b"data:", b""),
        (b"data: [DONE]", DONE),
    ],
)
def test_data_lines(line: bytes, value: bytes) -> None:
    assert data_value(line) == value


@pytest.mark.parametrize(
    "line", [b"", b"\n", b": keep-alive\n", b"event: message", b"id: 3", b"dat: x", b"garbage"]
)
def test_other_lines_carry_no_data(line: bytes) -> None:
    assert data_value(line) is None


def test_decoder_ends_events_at_blank_lines_with_either_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\n\r\ndata: b\n\ndata: c\r\n") == [b"a", b"b"]
    assert decoder.feed(b"\r\n") == [b"c"]
    assert decoder.close() == []


def _chat_body() -> list[bytes]:
    chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    last = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    events = [json.dumps(chunk, separators=(",", ":")), json.dumps(last, separators=(",", ":")), "[DONE]"]
    return [b": keep-alive\n", b"\n"] + [
        line for e in events for line in (b"data: " + e.encode() + b"\n", b"\n")
    ]


def test_client_smoke_and_load_read_the_same_payloads() -> None:
    lines = _chat_body()
    decoded = SSEDecoder().feed(b"".join(lines))
    smoke = data_payloads(line.decode().rstrip("\n") for line in lines)
    assert [p.encode() for p in smoke] == decoded
    assert decoded[-1] == DONE
    reader = ChatStreamReader(keep_text=True)
    finished = [reader.feed(line, float(i)) for i, line in enumerate(lines)]
    reader.digest()
    assert finished[-2] and reader.state.done  # [DONE] ends it
    assert (
        reader.state.token_events == 2
        and reader.state.text == ["Hi"]
        and reader.state.finish_reason == "stop"
    )
