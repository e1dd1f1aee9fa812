"""Both clients against a scripted TGI on `httpx2.MockTransport`: retry rules, errors, streams, secrets.

These swap only the socket (a seam); the same behaviours are proven over real sockets against the emulator in
`test_client_emulator.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

from orchestrator.client import (
    MISTRAL_MODEL_CARD,
    GenerateResult,
    RetryPolicy,
    TGIDeadlineExceededError,
    TGIOverloadedError,
    TGIStreamInterruptedError,
    TGIUnavailableError,
    TGIValidationError,
)
from tests.client.drivers import DRIVERS
from tests.client.fake_tgi import FakeTGI, generated, plain, reset, streamed, tgi_error

FAST = RetryPolicy(initial_backoff=0.001, max_backoff=0.01, jitter=0.001, deadline=5)
Make = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Iterator[Make]:
    """`make(fake, urls=..., **client_kwargs)` builds the driver under test over the fake's transport."""
    drivers: list[Any] = []
    kind = request.param

    def factory(fake: FakeTGI, urls: Any = "http://tgi.test:80", **kwargs: Any) -> Any:
        kwargs.setdefault("policy", FAST)
        transport = fake.transport()
        driver = DRIVERS[kind](urls, transport=transport, **kwargs)
        drivers.append(driver)
        return driver

    yield factory
    for driver in drivers:
        driver.close()


def test_generate_sends_preset_and_returns_text(make: Make) -> None:
    fake = FakeTGI([generated("Paris")])
    driver = make(fake)
    assert driver.generate("[INST] Capital of France? [/INST]", max_new_tokens=5) == "Paris"
    (request,) = fake.requests
    assert request.path == "/generate"
    assert request.body["inputs"] == "[INST] Capital of France? [/INST]"
    assert request.body["parameters"] == {**MISTRAL_MODEL_CARD.parameters(), "max_new_tokens": 5}


def test_generate_details_carry_timings_and_stats(make: Make) -> None:
    fake = FakeTGI([tgi_error(429, "overloaded", "Model is overloaded"), generated("ok", tokens=2)])
    driver = make(fake)
    result = driver.generate("x", details=True)
    assert isinstance(result, GenerateResult)
    assert result.text == "ok" and result.finish_reason == "length" and result.generated_tokens == 2
    assert result.timings.compute_time == 0.25 and result.timings.queue_time_ms == 3
    assert result.stats.attempts == 2 and result.stats.reasons == ["overloaded (429)"]
    assert result.stats.outcome == "ok" and result.stats.waited > 0
    assert driver.last_stats is result.stats


@pytest.mark.parametrize(
    "failure",
    [
        tgi_error(429, "overloaded", "Model is overloaded"),
        tgi_error(503, "healthcheck", "unhealthy"),
        tgi_error(424, "generation", "Request failed during generation: CUDA error"),
        tgi_error(500, "incomplete_generation", "Incomplete generation"),
        reset,
    ],
    ids=["429", "503", "424", "500-incomplete", "connect-error"],
)
def test_transient_failures_are_retried(make: Make, failure: Any, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeTGI([failure, failure, generated("fine")])
    driver = make(fake)
    with caplog.at_level(logging.WARNING, logger="orchestrator.client"):
        assert driver.generate("x") == "fine"
    assert len(fake.requests) == 3
    retries = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 2
    assert "retrying" in retries[0].getMessage() and "attempt 1/8" in retries[0].getMessage()


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (tgi_error(422, "validation", "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096"), 422),
        (plain(400, "Failed to deserialize the JSON body"), 400),
        (plain(401, ""), 401),
        (plain(413, "Failed to buffer the request body: length limit exceeded"), 413),
    ],
    ids=["422", "400", "401", "413"],
)  # fmt: skip
def test_client_errors_are_never_retried(make: Make, failure: Any, status: int) -> None:
    fake = FakeTGI([failure, generated("never")])
    driver = make(fake)
    with pytest.raises(Exception) as info:
        driver.generate("x")
    assert getattr(info.value, "status", None) == status
    assert info.value.attempts == 1  # type: ignore[attr-defined]
    assert len(fake.requests) == 1


def test_validation_error_keeps_server_message(make: Make) -> None:
    fake = FakeTGI([tgi_error(422, "validation", "Input validation error: too long")])
    with pytest.raises(TGIValidationError) as info:
        make(fake).generate("x")
    assert info.value.error_type == "validation"
    assert info.value.server_message == "Input validation error: too long"


def test_attempt_cap_raises_last_error_with_attempt_count(make: Make) -> None:
    fake = FakeTGI([tgi_error(429, "overloaded", "Model is overloaded")])
    driver = make(fake, policy=RetryPolicy(max_attempts=3, initial_backoff=0.001, jitter=0))
    with pytest.raises(TGIOverloadedError) as info:
        driver.generate("x")
    assert info.value.attempts == 3 and len(fake.requests) == 3
    assert driver.last_stats.outcome == "attempts"


def test_retry_after_longer_than_deadline_gives_up_at_once(make: Make) -> None:
    fake = FakeTGI([tgi_error(429, "overloaded", "Model is overloaded", headers={"retry-after": "30"})])
    driver = make(fake, policy=RetryPolicy(deadline=1.0))
    with pytest.raises(TGIDeadlineExceededError) as info:
        driver.generate("x")
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value.last_error, TGIOverloadedError)
    assert len(fake.requests) == 1
    assert driver.last_stats.elapsed < 0.5  # did not sleep 30 s, nor until the deadline


def test_budget_limits_retries_during_outage(make: Make) -> None:
    fake = FakeTGI([tgi_error(503, "healthcheck", "unhealthy")])
    policy = RetryPolicy(
        max_attempts=5, initial_backoff=0, jitter=0, budget_ratio=0.2, budget_burst=2, cooldown=0
    )
    driver = make(fake, policy=policy)
    calls = 50
    for _ in range(calls):
        with pytest.raises(TGIUnavailableError):
            driver.generate("x")
    extra = len(fake.requests) - calls
    assert extra <= 0.2 * calls + 2
    assert driver.client.budget.refused > 0


def test_stream_retries_before_first_token_then_delivers_all(make: Make) -> None:
    fake = FakeTGI([tgi_error(503, "healthcheck", "unhealthy"), streamed(["Hel", "lo", "!"])])
    driver = make(fake)
    events, stream, error = driver.collect("x")
    assert error is None
    assert [e.text for e in events] == ["Hel", "lo", "!"]
    assert events[-1].is_final and stream.generated_text == "Hello!"
    assert stream.details["finish_reason"] == "length"
    assert stream.stats.attempts == 2
    assert fake.requests[-1].path == "/generate_stream"
    assert fake.requests[-1].body["parameters"]["details"] is True


def test_stream_error_event_before_first_token_is_retried(make: Make) -> None:
    overloaded_event = streamed([], error={"error": "Model is overloaded", "error_type": "overloaded"})
    fake = FakeTGI([overloaded_event, streamed(["a", "b"])])
    events, stream, error = make(fake).collect("x")
    assert error is None and [e.text for e in events] == ["a", "b"] and stream.stats.attempts == 2


def test_stream_cut_after_tokens_raises_interrupted_with_partial_text(make: Make) -> None:
    fake = FakeTGI([streamed(["One", " two", " three"], cut=True), streamed(["never"])])
    events, _stream, error = make(fake).collect("x")
    assert isinstance(error, TGIStreamInterruptedError)
    assert error.partial_text == "One two three" == "".join(e.text for e in events)
    assert error.tokens_received == 3
    assert len(fake.requests) == 1  # not retried: the caller already has tokens


def test_stream_error_event_after_tokens_is_interrupted(make: Make) -> None:
    generation_failed = {"error": "Request failed during generation", "error_type": "generation"}
    fake = FakeTGI([streamed(["a", "b"], error=generation_failed)])
    events, _, error = make(fake).collect("x")
    assert isinstance(error, TGIStreamInterruptedError)
    assert error.error_type == "generation" and error.partial_text == "ab" and len(events) == 2


def test_failover_to_second_endpoint_without_waiting(make: Make) -> None:
    fake = FakeTGI([generated("unused")])
    fake.by_host = {"a.test:8001": [reset], "b.test:8002": [generated("from b")]}
    slow = RetryPolicy(initial_backoff=5, jitter=0, deadline=3)  # a backoff would blow the deadline
    driver = make(fake, urls=["http://a.test:8001", "http://b.test:8002"], policy=slow)
    results = {driver.generate("x") for _ in range(4)}
    assert results == {"from b"}
    assert fake.hosts().count("a.test:8001") == 1  # cooled down after its failure


def test_api_key_sent_as_bearer_but_never_shown(make: Make) -> None:
    fake = FakeTGI([generated("ok")])
    from pydantic import SecretStr

    driver = make(fake, api_key=SecretStr("sk-very-secret"))
    driver.generate("x")
    assert fake.requests[0].headers["authorization"] == "Bearer sk-very-secret"
    assert "sk-very-secret" not in repr(driver.client)
    fail = FakeTGI([plain(401, "")])
    with pytest.raises(Exception) as info:
        make(fail, api_key="sk-very-secret").generate("x")
    assert "sk-very-secret" not in str(info.value) and "sk-very-secret" not in repr(info.value)


def test_no_authorization_header_without_api_key(make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_should_never_leave_this_machine")
    fake = FakeTGI([generated("ok")])
    make(fake).generate("x")
    assert "authorization" not in fake.requests[0].headers


def test_info_and_health(make: Make) -> None:
    info = {"model_id": "TheBloke/Mistral-7B-Instruct-v0.2-AWQ", "max_total_tokens": 4096}
    fake = FakeTGI(
        [lambda r: httpx2.Response(200, json=info) if r.url.path == "/info" else httpx2.Response(200)]
    )
    driver = make(fake)
    assert driver.info()["max_total_tokens"] == 4096
    assert driver.health() is True
    down = FakeTGI([plain(503, "")])
    assert make(down).health() is False
