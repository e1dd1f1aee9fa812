"""Pure logic, no I/O: SSE decoding, error translation, classification, backoff, budget, endpoint choice."""

from __future__ import annotations

import json

import httpx2
import pytest

from orchestrator.client.endpoints import EndpointPool, normalize_url
from orchestrator.client.errors import (
    TGIAuthenticationError,
    TGIDeadlineExceededError,
    TGIError,
    TGIGenerationError,
    TGIOverloadedError,
    TGIStreamInterruptedError,
    TGIUnavailableError,
    TGIValidationError,
)
from orchestrator.client.presets import MISTRAL_MODEL_CARD, SamplingPreset
from orchestrator.client.protocol import TokenStreamState, build_generate_body, merge_parameters
from orchestrator.client.results import CallStats
from orchestrator.client.retry import RetryBudget, RetryPolicy, classify
from orchestrator.client.translate import (
    error_from_exception,
    error_from_response,
    error_from_sse,
    parse_retry_after,
)
from orchestrator.formats.sse import SSEDecoder

# -- SSE ------------------------------------------------------------------------------------------------------


def test_sse_decoder_handles_both_spellings_comments_crlf_and_split_chunks() -> None:
    body = b': keep-alive\n\ndata: {"a":1}\n\ndata:{"b":2}\r\n\r\ndata: [DONE]\n\n'
    for size in (1, 3, 7, len(body)):
        decoder = SSEDecoder()
        out: list[bytes] = []
        for i in range(0, len(body), size):
            out += decoder.feed(body[i : i + size])
        out += decoder.close()
        assert out == [b'{"a":1}', b'{"b":2}', b"[DONE]"], size


def test_sse_decoder_joins_multiline_data_and_flushes_unterminated_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: one\ndata: two\n\ndata: last") == [b"one\ntwo"]
    assert decoder.close() == [b"last"]


# -- translation ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "cls", "error_type"),
    [
        (422, {"error": "Input validation error", "error_type": "validation"}, TGIValidationError, "validation"),
        (429, {"error": "Model is overloaded", "error_type": "overloaded"}, TGIOverloadedError, "overloaded"),
        (424, {"error": "Request failed during generation", "error_type": "generation"}, TGIGenerationError, "generation"),
        (500, {"error": "Incomplete generation", "error_type": "incomplete_generation"}, TGIGenerationError, "incomplete_generation"),
        (503, {"error": "unhealthy", "error_type": "healthcheck"}, TGIUnavailableError, "healthcheck"),
        (500, {"error": "boom", "error_type": "stream_serialization_error"}, TGIError, "stream_serialization_error"),
    ],
)  # fmt: skip
def test_error_from_response_maps_tgi_bodies(
    status: int, body: dict[str, str], cls: type, error_type: str
) -> None:
    error = error_from_response(status, {}, json.dumps(body).encode(), "http://h:1")
    assert type(error) is cls
    assert error.status == status
    assert error.error_type == error_type
    assert error.server_message == body["error"]
    assert error.endpoint == "http://h:1"


def test_plain_text_framework_errors_and_401() -> None:
    e413 = error_from_response(413, {}, b"Failed to buffer the request body: length limit exceeded")
    assert isinstance(e413, TGIValidationError) and "length limit" in (e413.server_message or "")
    e401 = error_from_response(401, {}, b"")
    assert isinstance(e401, TGIAuthenticationError) and "api_key" in str(e401)
    e400 = error_from_response(400, {}, b"bad json")
    assert isinstance(e400, TGIValidationError)


def test_retry_after_header_is_parsed() -> None:
    error = error_from_response(429, {"retry-after": "1.5"}, b'{"error":"x","error_type":"overloaded"}')
    assert error.retry_after == 1.5
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None
    http_date = parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT")
    assert http_date == 0.0  # in the past: no wait


def test_sse_error_events_generate_and_chat_shapes() -> None:
    gen = error_from_sse({"error": "Request failed during generation", "error_type": "generation"})
    assert isinstance(gen, TGIGenerationError) and gen.error_type == "generation"
    chat = error_from_sse({"error": {"message": "Input validation error", "http_status_code": 422}})
    assert isinstance(chat, TGIValidationError) and chat.status == 422


def test_transport_errors_before_and_after_first_byte() -> None:
    request = httpx2.Request("POST", "http://h:1/generate")
    refused = error_from_exception(httpx2.ConnectError("refused", request=request), "http://h:1")
    assert isinstance(refused, TGIUnavailableError) and refused.error_type == "connect"
    slow = error_from_exception(httpx2.ReadTimeout("slow", request=request))
    assert isinstance(slow, TGIUnavailableError) and slow.error_type == "read_timeout"
    late = error_from_exception(httpx2.RemoteProtocolError("cut", request=request), first_byte=True)
    assert type(late) is TGIError and late.error_type == "connection_reset_after_first_byte"
    assert not classify(late).retry


def test_huggingface_hub_errors_are_translated_from_their_response() -> None:
    from huggingface_hub.errors import HfHubHTTPError, OverloadedError

    request = httpx2.Request("POST", "http://h:1/v1/chat/completions")
    response = httpx2.Response(503, json={"error": "unhealthy", "error_type": "healthcheck"}, request=request)
    hf_error = HfHubHTTPError("503 Service Unavailable", response=response)
    assert isinstance(error_from_exception(hf_error), TGIUnavailableError)
    overloaded = OverloadedError("Model is overloaded")
    overloaded.__cause__ = HfHubHTTPError(
        "429", response=httpx2.Response(429, json={"error": "o", "error_type": "overloaded"}, request=request)
    )
    assert isinstance(error_from_exception(overloaded), TGIOverloadedError)
    assert isinstance(error_from_exception(OverloadedError("no cause")), TGIOverloadedError)


# -- classification -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (TGIOverloadedError("x", status=429, error_type="overloaded"), True),
        (TGIUnavailableError("x", status=503), True),
        (TGIUnavailableError("x", error_type="connect"), True),
        (TGIUnavailableError("x", error_type="read_timeout"), True),
        (TGIGenerationError("x", status=424, error_type="generation"), True),
        (TGIGenerationError("x", status=500, error_type="incomplete_generation"), True),
        (TGIValidationError("x", status=422, error_type="validation"), False),
        (TGIValidationError("x", status=400), False),
        (TGIValidationError("x", status=413), False),
        (TGIAuthenticationError("x", status=401), False),
        (TGIError("x", status=500, error_type="stream_serialization_error"), False),
        (TGIDeadlineExceededError("x"), False),
        (TGIStreamInterruptedError("x", partial_text="a", tokens_received=1), False),
        (ValueError("not ours"), False),
    ],
)
def test_classify(error: BaseException, retry: bool) -> None:
    verdict = classify(error)
    assert verdict.retry is retry
    assert verdict.reason


def test_only_unavailable_fails_over() -> None:
    assert classify(TGIUnavailableError("x", status=503)).failover
    assert not classify(TGIOverloadedError("x", status=429)).failover


def test_deadline_error_is_a_timeout_error() -> None:
    assert issubclass(TGIDeadlineExceededError, TimeoutError)
    assert issubclass(TGIDeadlineExceededError, TGIError)


# -- policy ---------------------------------------------------------------------------------------------------


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, jitter=0.05)
    first, third = policy.backoff(1), policy.backoff(3)
    assert 0.1 <= first <= 0.15
    assert 0.4 <= third <= 0.45
    assert policy.backoff(20) <= 1.0
    assert policy.backoff(1, retry_after=2.5) == 2.5
    assert RetryPolicy(max_retry_after=1.0).backoff(1, retry_after=30) == 1.0
    assert RetryPolicy(honour_retry_after=False, jitter=0).backoff(1, retry_after=30) == pytest.approx(0.1)


def test_invalid_policy_names_the_field_and_value() -> None:
    with pytest.raises(ValueError, match=r"read_timeout=0 must be > 0"):
        RetryPolicy(read_timeout=0)
    with pytest.raises(ValueError, match=r"max_attempts=0"):
        RetryPolicy(max_attempts=0)


def test_budget_bounds_retries_to_ratio_of_calls_plus_burst() -> None:
    budget = RetryBudget(ratio=0.2, burst=5)
    granted = 0
    for _ in range(1000):
        budget.on_call()
        while budget.try_spend():  # an outage: every call wants as many retries as it can get
            granted += 1
    assert granted <= 0.2 * 1000 + 5
    assert granted >= 0.2 * 1000 - 1
    assert budget.refused > 0


# -- endpoints ------------------------------------------------------------------------------------------------


def test_pool_prefers_fewest_in_flight_and_skips_cooling() -> None:
    pool = EndpointPool(["http://a:1", "http://b:1/"], cooldown=60)
    first = pool.acquire()
    second = pool.acquire()
    assert {first.url, second.url} == {"http://a:1", "http://b:1"}
    pool.release(first, TGIUnavailableError("down"))
    pool.release(second)
    for _ in range(5):
        chosen = pool.acquire()
        assert chosen.url == second.url
        pool.release(chosen)
    # All cooling: still answer with the one that recovers first.
    pool.release(pool.acquire(), TGIUnavailableError("down too"))
    assert pool.acquire().url == first.url


def test_pool_rejects_bad_urls() -> None:
    with pytest.raises(ValueError, match="not an http"):
        normalize_url("127.0.0.1:8080")
    with pytest.raises(ValueError, match="credentials"):
        normalize_url("http://user:pw@h:1")
    with pytest.raises(ValueError, match="duplicate"):
        EndpointPool(["http://a:1", "http://a:1/"], cooldown=1)


# -- protocol -------------------------------------------------------------------------------------------------


def test_preset_is_explicit_and_overridable() -> None:
    params = merge_parameters(MISTRAL_MODEL_CARD, {"max_new_tokens": 8, "seed": None}, {"watermark": True})
    assert params == {
        "temperature": 0.7, "top_p": 0.95, "top_k": 40, "repetition_penalty": 1.1,
        "max_new_tokens": 8, "do_sample": True, "watermark": True,
    }  # fmt: skip
    assert merge_parameters(None, {"seed": 3}, None) == {"seed": 3}
    assert MISTRAL_MODEL_CARD.chat_parameters()["max_tokens"] == 512
    assert SamplingPreset("x").parameters() == {}
    body = json.loads(build_generate_body("hi", {"seed": 1}, details=True))
    assert body == {"inputs": "hi", "parameters": {"seed": 1, "details": True}}


def test_token_stream_state_turns_errors_into_interruptions_after_first_token() -> None:
    state = TokenStreamState("http://h:1", CallStats(attempts=1))
    with pytest.raises(TGIOverloadedError):
        state.event(b'{"error":"Model is overloaded","error_type":"overloaded"}')
    event = state.event(b'{"index":1,"token":{"id":5,"text":"Hi","logprob":-1,"special":false}}')
    assert event is not None and event.text == "Hi" and not event.is_final
    with pytest.raises(TGIStreamInterruptedError) as info:
        state.event(b'{"error":"Request failed during generation","error_type":"generation"}')
    assert info.value.partial_text == "Hi"
    assert info.value.tokens_received == 1
    assert info.value.error_type == "generation"
    ended = state.ended()
    assert isinstance(ended, TGIStreamInterruptedError) and ended.partial_text == "Hi"
