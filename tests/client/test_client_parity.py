"""The two clients behave alike: one scenario list, run through `TGIClient` and `AsyncTGIClient`, compared call by
call.

Each client talks to its own emulator process started with the same arguments and fault seed, so both meet the
same server: the same answers and the same faults in the same order (the emulator draws one fault decision per
request, in arrival order, and the calls are made one at a time). What each call gave the caller (value, stream
events, error type and fields, attempts, retry reasons, outcome) and the requests each server received must be
equal. Time (elapsed, waited) is not compared: it is not behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from orchestrator.client import CallStats, GenerateResult, RetryPolicy, TGIError
from tests.client.drivers import DRIVERS, Observation
from tests.client.test_client_emulator import PROMPT, server_requests
from tests.fixtures.emulator import EmulatorProcess

MESSAGES = [{"role": "user", "content": "Name a river."}]


def fast(**fields: Any) -> RetryPolicy:
    """A policy with near-zero backoff and no cool-down, so retries are quick and every call sees one server."""
    return RetryPolicy(initial_backoff=0.001, jitter=0.0, cooldown=0.0, **fields)


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


Call = tuple[str, tuple[Any, ...], dict[str, Any]]


def call(method: str, *args: Any, **kwargs: Any) -> Call:
    return method, args, kwargs


@dataclass(frozen=True)
class Scenario:
    """Server arguments, the client's policy, the calls, and what the calls must exercise (so none is vacuous)."""

    name: str
    server_args: tuple[str, ...]
    policy: RetryPolicy
    calls: list[Call]
    must_see: frozenset[str]  # error class names, and "retried:<reason>" for retries the calls must have made


SCENARIOS = [
    Scenario(
        "mixed_faults",
        words(
            "--emulator-fault-seed 21 --emulator-fault-overload-rate 0.2 --emulator-fault-overload-burst 1 "
            "--emulator-fault-unhealthy-rate 0.1 --emulator-fault-unhealthy-seconds 0 "
            "--emulator-fault-generation-rate 0.1 --emulator-fault-reset-rate 0.1"
        ),
        fast(max_attempts=3, budget_ratio=1.0),
        [
            *(call("generate", PROMPT, max_new_tokens=4, seed=i, details=True) for i in range(12)),
            call("generate", PROMPT, max_new_tokens=3, seed=1),
            *(call("stream", PROMPT, max_new_tokens=4, seed=i) for i in range(10)),
            *(call("chat", MESSAGES, max_tokens=3, seed=i) for i in range(8)),
            *(call("chat_stream", MESSAGES, max_tokens=3, seed=i) for i in range(8)),
            call("generate", PROMPT, temperature=0.0, do_sample=True, max_new_tokens=2),
            call("stream", PROMPT, temperature=0.0, do_sample=True, max_new_tokens=2),
            call("chat", MESSAGES, max_tokens=2, top_p=2.0),
            call("chat_stream", MESSAGES, max_tokens=2, top_p=2.0),
            call("info"),
        ],
        frozenset(
            words(
                "TGIValidationError TGIOverloadedError TGIStreamInterruptedError retried:overloaded "
                "retried:healthcheck retried:generation retried:connection_reset"
            )
        ),
    ),
    Scenario(
        "outage_and_budget",
        ("--emulator-fault-unhealthy-rate", "1.0", "--emulator-fault-unhealthy-seconds", "0"),
        fast(max_attempts=4, budget_ratio=0.2, budget_burst=3),
        [call("generate", PROMPT, max_new_tokens=1) for _ in range(12)]
        + [call("stream", PROMPT, max_new_tokens=1), call("chat", MESSAGES, max_tokens=1)],
        frozenset({"retried:healthcheck", "TGIUnavailableError"}),
    ),
    Scenario(
        "deadline",
        ("--emulator-fault-slow-first-byte-rate", "1.0", "--emulator-fault-slow-first-byte-seconds", "2.5"),
        RetryPolicy(),
        [
            call("generate", PROMPT, max_new_tokens=1, deadline=1.0),
            call("stream", PROMPT, max_new_tokens=1, deadline=1.0),
        ],
        frozenset({"TGIDeadlineExceededError"}),
    ),
    Scenario(
        "stream_cut",
        ("--emulator-fault-stream-cut-rate", "1.0", "--emulator-fault-stream-cut-after", "3"),
        fast(),
        [
            call("stream", PROMPT, max_new_tokens=8, seed=3),
            call("chat_stream", MESSAGES, max_tokens=8, seed=3),
        ],
        frozenset({"TGIStreamInterruptedError"}),
    ),
]


def stats_summary(stats: CallStats | None) -> Any:
    if stats is None:
        return None
    return stats.attempts, list(stats.reasons), stats.outcome, len(stats.endpoints)


def value_summary(value: Any) -> Any:
    """What a caller could look at in a returned value; stream classes compared without their `Async` prefix."""
    if hasattr(
        value, "choices"
    ):  # huggingface_hub's ChatCompletionOutput (a dict subclass; `created` varies)
        choice = value.choices[0]
        return (
            "ChatCompletionOutput",
            choice.message.content,
            choice.finish_reason,
            value.usage.completion_tokens,
        )
    if value is None or isinstance(value, str | dict):
        return value
    if isinstance(value, GenerateResult):
        return "GenerateResult", value.text, value.generated_tokens, value.finish_reason, value.details
    kind = type(value).__name__.removeprefix("Async")
    if kind == "TokenStream":
        return kind, value.generated_text, value.text, value.details
    assert kind == "ChatStream", kind
    return kind, value.text, value.finish_reason


def event_summary(event: Any) -> Any:
    if hasattr(event, "choices"):  # a chat chunk
        return [(c.index, c.delta.content, c.finish_reason) for c in event.choices]
    return event.index, event.id, event.text, event.special


def error_summary(error: TGIError | None, url: str) -> Any:
    if error is None:
        return None
    fields = ("status", "error_type", "server_message", "attempts", "tokens_received", "partial_text")
    return (type(error).__name__, str(error).replace(url, "<url>"),
            *(getattr(error, name, None) for name in fields))  # fmt: skip


def summary(seen: Observation, url: str) -> Any:
    return (
        value_summary(seen.value),
        [event_summary(e) for e in seen.events],
        error_summary(seen.error, url),
        stats_summary(seen.stats),
    )


def run(kind: str, scenario: Scenario, start: Callable[..., EmulatorProcess]) -> tuple[list[Any], int]:
    """The scenario's calls, one at a time, through one client against a fresh server; and what it received."""
    server = start(*scenario.server_args)
    driver: Any = DRIVERS[kind](server.url, policy=scenario.policy)
    try:
        seen = [summary(driver.observe(method, *a, **kw), server.url) for method, a, kw in scenario.calls]
    finally:
        driver.close()
    received = server_requests(server.url)
    server.terminate()
    return seen, received


def exercised(summaries: list[Any]) -> set[str]:
    errors = {s[2][0] for s in summaries if s[2] is not None}
    reasons = {f"retried:{r.split(' ')[0]}" for s in summaries if s[3] is not None for r in s[3][1]}
    return errors | reasons


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_sync_and_async_clients_behave_alike(scenario: Scenario, emulator_factory: Any) -> None:
    sync, sync_received = run("sync", scenario, emulator_factory)
    async_, async_received = run("async", scenario, emulator_factory)
    assert scenario.must_see <= exercised(sync), exercised(sync)
    for index, ((method, _, _), one, other) in enumerate(zip(scenario.calls, sync, async_, strict=True)):
        assert one == other, f"call {index} ({method}) differs:\n sync:  {one}\n async: {other}"
    assert sync_received == async_received
