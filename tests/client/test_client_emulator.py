"""Both clients against the TGI emulator as a real server on loopback, with seeded fault injection.

Every test runs for `TGIClient` and `AsyncTGIClient` (the `driver` parameter). Server-side truth comes from the
emulator's `/metrics` (`tgi_request_count` counts every request it received, faulty ones included).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

from orchestrator.client import (
    GenerateResult,
    RetryPolicy,
    TGIDeadlineExceededError,
    TGIStreamInterruptedError,
    TGIUnavailableError,
    TGIValidationError,
)
from tests.client.drivers import DRIVERS
from tests.fixtures.emulator import EmulatorProcess

PROMPT = "[INST] Say something [/INST]"
Factory = Callable[..., EmulatorProcess]


def server_requests(url: str) -> int:
    """Requests the emulator received on generation routes (its `tgi_request_count`)."""
    text = httpx2.get(url + "/metrics", timeout=5).text
    match = re.search(r"^tgi_request_count (\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


@pytest.fixture(params=["sync", "async"])
def driver_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connect(driver_kind: str) -> Iterator[Callable[..., Any]]:
    drivers: list[Any] = []

    def make(urls: Any, **kwargs: Any) -> Any:
        driver = DRIVERS[driver_kind](urls, **kwargs)
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.close()


def test_generate_stream_chat_info_against_emulator(emulator: EmulatorProcess, connect: Any) -> None:
    driver = connect(emulator.url)
    assert driver.health() is True
    assert driver.info()["max_total_tokens"] > 0
    result = driver.generate(PROMPT, max_new_tokens=7, details=True)
    assert isinstance(result, GenerateResult) and result.generated_tokens == 7 and result.text
    assert result.timings.generated_tokens == 7 and result.timings.compute_time is not None
    events, stream, error = driver.collect(PROMPT, max_new_tokens=5)
    assert error is None and len(events) == 5
    assert stream.generated_text == "".join(e.text for e in events) == stream.text
    assert stream.details["generated_tokens"] == 5
    reply = driver.chat([{"role": "user", "content": "hi"}], max_tokens=4)
    assert reply.choices[0].message.content and reply.usage.completion_tokens == 4
    _chunks, chat_stream = driver.chat_collect([{"role": "user", "content": "hi"}], max_tokens=4)
    assert chat_stream.text and chat_stream.finish_reason == "length"


@pytest.mark.slow
def test_thousand_calls_with_ten_percent_transient_faults_all_succeed(
    emulator_factory: Factory, connect: Any, driver_kind: str
) -> None:
    # About 10 % of requests fail: 2.5 % each of 429, 503, 424 and connection resets before the first byte.
    emu = emulator_factory(
        "--emulator-fault-seed", "7" if driver_kind == "sync" else "8",
        "--emulator-fault-overload-rate", "0.025", "--emulator-fault-overload-burst", "1",
        "--emulator-fault-unhealthy-rate", "0.025", "--emulator-fault-unhealthy-seconds", "0",
        "--emulator-fault-generation-rate", "0.025",
        "--emulator-fault-reset-rate", "0.025",
    )  # fmt: skip
    driver = connect(emu.url)  # the default policy
    deadline = 20.0
    outcomes = driver.many(PROMPT, calls=1000, concurrency=16, max_new_tokens=2, deadline=deadline)
    failures = [result for result, _ in outcomes if not isinstance(result, GenerateResult)]
    assert failures == []
    stats = [s for _, s in outcomes]
    assert all(s is not None and s.outcome == "ok" and s.elapsed < deadline for s in stats)
    retries = sum(s.retries for s in stats if s is not None)
    reasons = {r.split(" ")[0] for s in stats if s is not None for r in s.reasons}
    assert 50 <= retries <= 200, retries  # the faults really happened, and were absorbed
    assert {"overloaded", "healthcheck", "generation", "connection_reset"} <= reasons, reasons
    assert server_requests(emu.url) == 1000 + retries


def test_validation_error_raised_at_once_without_retry(emulator: EmulatorProcess, connect: Any) -> None:
    driver = connect(emulator.url)
    before = server_requests(emulator.url)
    started = time.monotonic()
    with pytest.raises(TGIValidationError) as info:
        driver.generate(PROMPT, temperature=0.0, max_new_tokens=2, do_sample=True)
    assert time.monotonic() - started < 1.0
    assert info.value.status == 422 and info.value.error_type == "validation"
    assert "temperature" in (info.value.server_message or "")
    assert info.value.attempts == 1
    assert server_requests(emulator.url) == before + 1


def test_retry_after_is_honoured(emulator_factory: Factory, connect: Any) -> None:
    emu = emulator_factory(
        "--emulator-fault-seed", "3", "--emulator-fault-overload-rate", "0.5",
        "--emulator-fault-overload-burst", "1", "--emulator-retry-after", "0.3",
    )  # fmt: skip
    driver = connect(emu.url, policy=RetryPolicy(initial_backoff=0.01, jitter=0, max_attempts=8))
    retried = 0
    for _ in range(8):
        started = time.monotonic()
        result = driver.generate(PROMPT, max_new_tokens=1, details=True)
        elapsed = time.monotonic() - started
        assert result.stats.waited >= 0.3 * result.stats.retries
        assert elapsed >= 0.3 * result.stats.retries
        retried += result.stats.retries
    assert retried >= 2


def test_deadline_holds_when_the_server_is_slow(emulator_factory: Factory, connect: Any) -> None:
    emu = emulator_factory(
        "--emulator-fault-slow-first-byte-rate", "1.0", "--emulator-fault-slow-first-byte-seconds", "2.5"
    )
    driver = connect(emu.url)
    for call in (lambda: driver.generate(PROMPT, max_new_tokens=1, deadline=1.0),
                 lambda: driver.collect(PROMPT, max_new_tokens=1, deadline=1.0)):  # fmt: skip
        started = time.monotonic()
        with pytest.raises(TGIDeadlineExceededError) as info:
            call()
        elapsed = time.monotonic() - started
        assert 0.9 <= elapsed < 2.0, elapsed  # the deadline, plus scheduling slack on a busy machine
        assert isinstance(info.value, TimeoutError)
        assert info.value.attempts >= 1


def test_deadline_holds_during_an_outage(emulator_factory: Factory, connect: Any) -> None:
    emu = emulator_factory(
        "--emulator-fault-unhealthy-rate", "1.0", "--emulator-fault-unhealthy-seconds", "0"
    )
    driver = connect(
        emu.url, policy=RetryPolicy(max_attempts=100, initial_backoff=0.2, jitter=0.05, deadline=1.5)
    )
    started = time.monotonic()
    with pytest.raises(TGIDeadlineExceededError) as info:
        driver.generate(PROMPT, max_new_tokens=1)
    assert time.monotonic() - started < 1.5 + 0.25  # the deadline, plus scheduling noise on a shared machine
    assert isinstance(info.value.last_error, TGIUnavailableError) and info.value.last_error.status == 503
    assert info.value.attempts >= 2


def test_retry_budget_bounds_extra_load_under_total_outage(emulator_factory: Factory, connect: Any) -> None:
    emu = emulator_factory(
        "--emulator-fault-unhealthy-rate", "1.0", "--emulator-fault-unhealthy-seconds", "0"
    )
    policy = RetryPolicy(initial_backoff=0.001, jitter=0.001, cooldown=0)  # default ratio 0.2, burst 10
    driver = connect(emu.url, policy=policy)
    calls = 300
    for _ in range(calls):
        with pytest.raises(TGIUnavailableError):
            driver.generate(PROMPT, max_new_tokens=1)
    received = server_requests(emu.url)
    extra = received - calls
    assert extra <= 0.2 * calls + policy.budget_burst, extra
    assert extra >= 0.2 * calls - 1  # retries did happen, up to the budget
    # Without a budget, the attempt cap alone would have multiplied the load by max_attempts.
    assert received < calls * policy.max_attempts / 3


def test_stream_cut_after_tokens_raises_typed_error_with_partial_text(
    emulator_factory: Factory, connect: Any
) -> None:
    emu = emulator_factory(
        "--emulator-fault-stream-cut-rate", "1.0", "--emulator-fault-stream-cut-after", "3"
    )
    driver = connect(emu.url)
    events, stream, error = driver.collect(PROMPT, max_new_tokens=10)
    assert isinstance(error, TGIStreamInterruptedError), error
    assert error.tokens_received == 3 == len(events)
    assert error.partial_text == "".join(e.text for e in events) != ""
    assert stream.generated_text is None
    assert server_requests(emu.url) == 1  # never re-sent: the caller already had tokens


def test_stream_faults_before_first_token_are_retried(emulator_factory: Factory, connect: Any) -> None:
    emu = emulator_factory(
        "--emulator-fault-seed", "11", "--emulator-fault-reset-rate", "0.2",
        "--emulator-fault-overload-rate", "0.2", "--emulator-fault-overload-burst", "1",
    )  # fmt: skip
    # A budget as large as the fault rate: this test is about where streams retry, not about the budget.
    policy = RetryPolicy(initial_backoff=0.001, jitter=0.001, max_attempts=10, budget_ratio=1.0)
    driver = connect(emu.url, policy=policy)
    retries = 0
    for _ in range(30):
        events, stream, error = driver.collect(PROMPT, max_new_tokens=3)
        assert error is None and len(events) == 3 and stream.generated_text == stream.text
        retries += stream.stats.retries
    assert retries >= 5


def test_failover_when_one_replica_stops(emulator_factory: Factory, connect: Any) -> None:
    first, second = emulator_factory(), emulator_factory()
    driver = connect([first.url, second.url], policy=RetryPolicy(cooldown=60))
    for _ in range(10):
        driver.generate(PROMPT, max_new_tokens=1)
    assert server_requests(first.url) > 0 and server_requests(second.url) > 0
    served_by_second = server_requests(second.url)
    first.terminate()
    outcomes = driver.many(PROMPT, calls=40, concurrency=4, max_new_tokens=1, deadline=5)
    assert all(isinstance(result, GenerateResult) for result, _ in outcomes)
    assert all(result.endpoint == second.url for result, _ in outcomes)
    assert server_requests(second.url) == served_by_second + 40
    failed_over = [s for _, s in outcomes if s is not None and s.retries]
    # Only calls in flight before the cool-down started touched the dead replica.
    assert 1 <= len(failed_over) <= 4
    assert all(s.waited == 0 for s in failed_over)  # fail over at once, no backoff
    events, _, error = driver.collect(PROMPT, max_new_tokens=2)
    assert error is None and len(events) == 2


def test_chat_retries_through_huggingface_hub(emulator_factory: Factory, connect: Any) -> None:
    emu = emulator_factory(
        "--emulator-fault-seed", "5", "--emulator-fault-overload-rate", "0.3",
        "--emulator-fault-overload-burst", "1", "--emulator-fault-unhealthy-rate", "0.1",
        "--emulator-fault-unhealthy-seconds", "0",
    )  # fmt: skip
    policy = RetryPolicy(initial_backoff=0.001, jitter=0.001, max_attempts=10, budget_ratio=1.0)
    driver = connect(emu.url, policy=policy)
    for _ in range(10):
        reply = driver.chat([{"role": "user", "content": "hi"}], max_tokens=2)
        assert reply.usage.completion_tokens == 2
    assert server_requests(emu.url) > 10  # some replies needed retries


def test_stall_after_first_token_is_an_interruption_not_a_retry(
    emulator_factory: Factory, connect: Any
) -> None:
    emu = emulator_factory("--emulator-fault-stall-rate", "1.0", "--emulator-fault-stall-seconds", "2")
    driver = connect(emu.url, policy=RetryPolicy(read_timeout=0.5))
    events, _stream, error = driver.collect(PROMPT, max_new_tokens=5)
    assert isinstance(error, TGIStreamInterruptedError), error
    assert error.error_type == "read_timeout_after_first_byte"
    assert error.tokens_received == len(events) >= 1 and error.partial_text == "".join(e.text for e in events)
    assert server_requests(emu.url) == 1


def test_api_key_is_sent_as_bearer_and_401_is_not_retried(emulator_factory: Factory, connect: Any) -> None:
    from pydantic import SecretStr

    from orchestrator.client import TGIAuthenticationError

    emu = emulator_factory("--api-key", "sk-emulator-key")
    with pytest.raises(TGIAuthenticationError) as info:
        connect(emu.url).generate(PROMPT, max_new_tokens=1)
    assert info.value.status == 401 and info.value.attempts == 1
    assert "sk-emulator-key" not in str(info.value)
    assert connect(emu.url, api_key=SecretStr("sk-emulator-key")).generate(PROMPT, max_new_tokens=1)
    assert "sk-emulator-key" not in emu.logs()
