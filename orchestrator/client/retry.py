"""Retry decisions, written once without I/O and handed to tenacity's `Retrying` and `AsyncRetrying`.

* `RetryPolicy`: the one object users tune (attempts, deadline, backoff, Retry-After, budget, cool-down).
* `classify(exc)`: is this failure worth another attempt, why, and should the next attempt go elsewhere.
* `RetryBudget`: a token bucket shared by all calls of a client, as in gRPC's retry throttling and Envoy's retry
  budget: each call deposits `budget_ratio` tokens, each retry spends one, so under a sustained outage retries add
  at most `budget_ratio` extra load (plus a small burst), instead of multiplying it by `max_attempts`.
* `CallContext`: one call's deadline and statistics; `build_retrying` wires it into a tenacity controller whose
  stop condition checks, in order, the attempt cap, the deadline (no sleep may cross it) and the budget.
  The loop that drives it is `retry_loop.run_sync` (and its generated twin `async_retry_loop.run_async`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import tenacity

from orchestrator.client.budget import RetryBudget
from orchestrator.client.errors import (
    TGIDeadlineExceededError,
    TGIError,
    TGIGenerationError,
    TGIOverloadedError,
    TGIUnavailableError,
)
from orchestrator.client.results import CallStats
from orchestrator.client.translate import GENERATION_500

if TYPE_CHECKING:
    from orchestrator.client.endpoints import EndpointPool

__all__ = [
    "CallContext",
    "RetryBudget",
    "RetryPolicy",
    "Verdict",
    "build_retrying",
    "classify",
    "finish_failed",
    "replay_or_raise",
]

logger = logging.getLogger("orchestrator.client")

T = TypeVar("T")

_RETRYABLE_GENERATION = frozenset({*GENERATION_500, None})
"""TGI's `generation` / `incomplete_generation`, vLLM's `InternalServerError` (the engine failed on the request)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a client retries. All durations in seconds.

    `max_attempts` (first attempt included) is generous on purpose: the retry budget, not the cap, bounds the load
    under an outage, and the deadline bounds the latency; with 10 % independent transient failures, 8 attempts
    leave one call in 10^8 failing (5 would fail one in 10^5, i.e. about one run of 1,000 calls in 100).
    `deadline` bounds a whole call, waits included (for streams: until the first token); `None` disables it.
    `connect_timeout` and `read_timeout` bound each attempt (and are cut to what is left of the deadline).
    Backoff before retry n is `initial_backoff * multiplier**(n-1)` plus up to `jitter`, capped at `max_backoff`;
    a `Retry-After` header lengthens it (up to `max_retry_after`) when `honour_retry_after`.
    An endpoint that failed with a connection error or 503 is skipped for `cooldown` seconds.
    """

    max_attempts: int = 8
    deadline: float | None = 300.0
    connect_timeout: float = 5.0
    read_timeout: float = 120.0
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.1
    honour_retry_after: bool = True
    max_retry_after: float = 60.0
    budget_ratio: float = 0.2
    budget_burst: float = 10.0
    cooldown: float = 5.0

    def __post_init__(self) -> None:
        problems = []
        if self.max_attempts < 1:
            problems.append(f"max_attempts={self.max_attempts} must be >= 1")
        if self.deadline is not None and self.deadline <= 0:
            problems.append(f"deadline={self.deadline} must be > 0 seconds, or None for no deadline")
        for name in ("connect_timeout", "read_timeout"):
            if not getattr(self, name) > 0:
                problems.append(
                    f"{name}={getattr(self, name)} must be > 0 seconds (timeouts are never infinite)"
                )
        for name in (
            "initial_backoff",
            "max_backoff",
            "jitter",
            "max_retry_after",
            "budget_burst",
            "cooldown",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)} must be >= 0")
        if self.budget_ratio < 0:
            problems.append(
                f"budget_ratio={self.budget_ratio} must be >= 0 (0.2 = retries add at most 20 % load)"
            )
        if self.multiplier < 1:
            problems.append(f"multiplier={self.multiplier} must be >= 1")
        if problems:
            raise ValueError("invalid RetryPolicy: " + "; ".join(problems))

    def backoff(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry_number` (1 = first retry)."""
        wait = tenacity.wait_exponential_jitter(
            multiplier=self.initial_backoff,
            max=self.max_backoff,
            exp_base=self.multiplier,
            jitter=self.jitter,
        )
        delay = float(wait(_FakeState(retry_number)))  # type: ignore[arg-type]
        if retry_after is not None and self.honour_retry_after:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay


@dataclass(slots=True)
class _FakeState:
    """tenacity wait strategies read only `attempt_number`."""

    attempt_number: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision for one failure: retry or not, a short reason for logs, Retry-After, and failover."""

    retry: bool
    reason: str
    retry_after: float | None = None
    failover: bool = False


def classify(exc: BaseException) -> Verdict:
    """Retry connection failures, timeouts before the first byte, 429, 503, 424 and 500 incomplete_generation.

    Never 400, 401, 413, 422, a deadline, an interrupted stream or anything not translated to a `TGIError`.
    """
    if not isinstance(exc, TGIError):
        return Verdict(False, f"not retryable: {type(exc).__name__}")
    status = f" ({exc.status})" if exc.status is not None else ""
    reason = f"{exc.error_type or type(exc).__name__}{status}"
    if isinstance(exc, TGIDeadlineExceededError):
        return Verdict(False, reason)
    if isinstance(exc, TGIOverloadedError):
        return Verdict(True, reason, exc.retry_after)
    if isinstance(exc, TGIUnavailableError):
        return Verdict(True, reason, exc.retry_after, failover=True)
    if isinstance(exc, TGIGenerationError) and exc.error_type in _RETRYABLE_GENERATION:
        return Verdict(True, reason, exc.retry_after)
    return Verdict(False, reason)


@dataclass(slots=True)
class CallContext:
    """Mutable state of one call: what was tried, statistics, and when the deadline falls (monotonic)."""

    policy: RetryPolicy
    operation: str
    started: float = field(default_factory=time.monotonic)
    stats: CallStats = field(default_factory=CallStats)
    deadline_at: float | None = None
    avoid: set[str] = field(default_factory=set)
    endpoint: str | None = None
    stop_reason: str | None = None

    def __post_init__(self) -> None:
        if self.deadline_at is None and self.policy.deadline is not None:
            self.deadline_at = self.started + self.policy.deadline

    def remaining(self) -> float | None:
        return None if self.deadline_at is None else self.deadline_at - time.monotonic()

    def attempt_timeouts(self) -> tuple[float, float] | None:
        """(connect, read) timeouts for the next attempt cut to the time left; None when the policy's apply."""
        if self.deadline_at is None:
            return None
        read = self.policy.read_timeout
        left = self.deadline_at - time.monotonic()
        if left >= read:
            return None
        left = max(left, 0.001)
        return min(self.policy.connect_timeout, left), left

    def begin_attempt(self, endpoint: str) -> None:
        self.stats.attempts += 1
        self.stats.endpoints.append(endpoint)
        self.endpoint = endpoint

    def finish(self, outcome: str) -> None:
        self.stats.outcome = outcome
        self.stats.elapsed = time.monotonic() - self.started

    def deadline_error(self, last: TGIError | None) -> TGIDeadlineExceededError:
        budget = None if self.deadline_at is None else round(self.deadline_at - self.started, 3)
        return TGIDeadlineExceededError(
            f"{self.operation}: deadline of {budget} s exceeded after {self.stats.attempts} attempt(s)"
            + (f"; last error: {last.message}" if last else ""),
            last_error=last,
            endpoint=self.endpoint,
            attempts=self.stats.attempts,
        )


def _exception(state: tenacity.RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


def build_retrying(
    ctx: CallContext,
    budget: RetryBudget,
    pool: EndpointPool | None = None,
    *,
    asynchronous: bool = False,
) -> Any:
    """A tenacity controller for one call (`Retrying`, or `AsyncRetrying` when `asynchronous`)."""
    policy = ctx.policy

    def should_retry(state: tenacity.RetryCallState) -> bool:
        exc = _exception(state)
        if exc is None:
            return False
        verdict = classify(exc)
        if not verdict.retry:
            ctx.stop_reason = "fatal"
        return verdict.retry

    def wait(state: tenacity.RetryCallState) -> float:
        exc = _exception(state)
        verdict = classify(exc) if exc is not None else Verdict(False, "")
        if verdict.failover and pool is not None and pool.has_alternative(ctx.avoid):
            return 0.0  # another replica is ready: fail over at once
        return policy.backoff(state.attempt_number, verdict.retry_after)

    def stop(state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            ctx.stop_reason = "attempts"
            return True
        left = ctx.remaining()
        if left is not None and state.upcoming_sleep >= left:
            ctx.stop_reason = "deadline"
            return True
        if not budget.try_spend():
            ctx.stop_reason = "budget"
            return True
        return False

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = _exception(state)
        reason = classify(exc).reason if exc is not None else "?"
        ctx.stats.reasons.append(reason)
        ctx.stats.waited += state.upcoming_sleep
        left = ctx.remaining()
        logger.warning(
            "%s: attempt %d/%d on %s failed: %s; retrying in %.3f s%s",
            ctx.operation,
            state.attempt_number,
            policy.max_attempts,
            ctx.endpoint,
            reason,
            state.upcoming_sleep,
            f" (deadline in {left:.2f} s)" if left is not None else "",
        )

    def give_up(state: tenacity.RetryCallState) -> NoReturn:
        exc = _exception(state)
        assert exc is not None
        last = exc if isinstance(exc, TGIError) else None
        ctx.finish(ctx.stop_reason or "fatal")
        if ctx.stop_reason == "deadline":
            error = ctx.deadline_error(last)
            error.stats = ctx.stats
            raise error from exc
        if last is not None:
            last.attempts = ctx.stats.attempts
        raise exc

    kwargs: dict[str, Any] = {
        "retry": should_retry,
        "wait": wait,
        "stop": stop,
        "before_sleep": before_sleep,
        "retry_error_callback": give_up,
    }
    return tenacity.AsyncRetrying(**kwargs) if asynchronous else tenacity.Retrying(**kwargs)


def finish_failed(ctx: CallContext, exc: TGIError) -> None:
    """Stamp a call's final failure with its statistics and record why the call ended."""
    exc.attempts = ctx.stats.attempts
    exc.stats = ctx.stats
    if ctx.stats.outcome == "pending":
        ctx.finish(ctx.stop_reason or "fatal")


def replay_or_raise(ctx: CallContext, exc: TGIError) -> list[BaseException]:
    """The first attempt's failure, to be replayed as tenacity's first outcome; a fatal one ends the call here."""
    if not classify(exc).retry:
        finish_failed(ctx, exc)
        raise exc
    return [exc]
