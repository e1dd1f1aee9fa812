"""SSE readers: token timing, final details, errors, both `data:` spellings, chat usage and [DONE]."""

from __future__ import annotations

import json

from orchestrator.load.sse import ChatStreamReader, GenerateStreamReader, parse_error_body


def gen_event(i: int, last: bool = False, space: bool = True, compact: bool = True) -> bytes:
    """A TGI token event; TGI (serde) writes compact JSON, `compact=False` takes the slow, parse-at-once path."""
    event = {
        "index": i,
        "token": {"id": 100 + i, "text": f"t{i}", "logprob": -0.1, "special": False},
        "generated_text": "t0t1t2" if last else None,
        "details": {"finish_reason": "length", "generated_tokens": 3, "seed": None, "input_length": 7}
        if last
        else None,
    }
    text = json.dumps(event, separators=(",", ":") if compact else None)
    return (b"data: " if space else b"data:") + text.encode() + b"\n"


def test_generate_stream_times_every_token_event() -> None:
    r = GenerateStreamReader(keep_text=True)
    assert not r.feed(b":\n", 0.5)  # keep-alive comment
    assert not r.feed(gen_event(0), 1.0)
    assert not r.feed(b"\n", 1.0)
    assert not r.feed(gen_event(1, space=False, compact=False), 1.5)  # TGI <= 2.0 spelling, spaced JSON
    assert r.feed(gen_event(2, last=True), 2.0)
    st = r.state
    assert (st.first_token, st.last_token, st.token_events) == (1.0, 2.0, 3)
    assert (st.output_tokens, st.input_tokens, st.finish_reason) == (3, 7, "length")
    assert st.done and "".join(st.text) == "t0t1t2"


def test_generate_stream_error_event() -> None:
    r = GenerateStreamReader()
    r.feed(gen_event(0), 1.0)
    assert r.feed(
        b'data: {"error":"Request failed during generation: boom","error_type":"generation"}\n', 2.0
    )
    assert r.state.error_type == "generation" and "boom" in (r.state.error_message or "")


def chunk(content: str | None, reason: str | None = None) -> bytes:
    body = {
        "object": "chat.completion.chunk",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": reason}
        ],
        "usage": None,
    }
    return b"data: " + json.dumps(body).encode() + b"\n"


def test_chat_stream_usage_and_done() -> None:
    r = ChatStreamReader(keep_text=True)
    r.feed(chunk("Hel"), 0.2)
    r.feed(chunk("lo"), 0.3)
    r.feed(chunk("", "length"), 0.4)
    usage = {
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3},
    }
    assert not r.feed(b"data: " + json.dumps(usage).encode() + b"\n", 0.41)
    assert r.feed(b"data: [DONE]\n", 0.42)
    st = r.state
    assert (st.first_token, st.last_token, st.token_events) == (0.2, 0.4, 3)
    assert (st.output_tokens, st.input_tokens, st.finish_reason) == (3, 9, "length")
    assert "".join(st.text) == "Hello"


def test_chat_stream_error_then_done() -> None:
    r = ChatStreamReader()
    assert not r.feed(b'data: {"error":{"message":"Input validation error","http_status_code":422}}\n', 0.1)
    assert r.feed(b"data: [DONE]\n", 0.2)
    assert r.state.error_type == "stream_error"


def test_error_bodies() -> None:
    assert parse_error_body(b'{"error":"Model is overloaded","error_type":"overloaded"}') == (
        "overloaded",
        "Model is overloaded",
    )
    assert parse_error_body(b"Failed to buffer the request body") == (
        None,
        "Failed to buffer the request body",
    )


def test_token_events_are_parsed_later_but_all_parsed() -> None:
    sink: list[object] = []
    r = GenerateStreamReader(keep_text=True, sink=sink)
    r.feed(gen_event(0), 1.0)
    r.feed(gen_event(1), 1.1)
    assert r.state.token_events == 2 and r.state.first_token == 1.0  # timed and counted on arrival
    assert r.state.text == [] and len(sink) == 2  # parsing left for the idle digester
    assert r.digest(1) == 1 and r.state.text == ["t0"]
    assert r.feed(gen_event(2, last=True), 1.2)  # the final event parses whatever is left first
    assert r.state.text == ["t0", "t1", "t2"] and r.parsed == 2


def test_malformed_token_event_fails_the_stream() -> None:
    r = GenerateStreamReader()
    r.feed(b'data: {"token":{"id":1,"text":"x"},"generated_text":null,"details":null\n', 1.0)  # cut JSON
    r.digest()
    assert r.state.error_type == "malformed_event"


def test_chat_chunk_with_spaces_still_counted() -> None:
    r = ChatStreamReader()
    r.feed(
        b'data: {"choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": "stop"}], "usage": null}\n',
        1.0,
    )
    assert r.feed(b"data: [DONE]\n", 1.1)
    assert r.state.token_events == 1 and r.state.finish_reason == "stop"
