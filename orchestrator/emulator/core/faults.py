"""Seeded fault injection: one RNG, one decision per generation request, in arrival order.

With the same `--emulator-fault-seed` and the same request order, the same requests fail the same way, so client
retry logic can be tested reproducibly. Windows (unhealthy) are timed; bursts (overloaded) count requests. A plan
names the kind of failure only; each front-end answers it with its engine's status and body (TGI: `tgi/errors.py`).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from enum import Enum

__all__ = ["Failure", "FaultConfig", "FaultInjector", "FaultPlan"]


@dataclass(frozen=True)
class FaultConfig:
    """Fault-injection knobs (rates are probabilities per generation request, drawn from one seeded RNG)."""

    seed: int = 0
    generation_rate: float = 0.0
    incomplete_rate: float = 0.0
    overload_rate: float = 0.0
    overload_burst: int = 5
    unhealthy_rate: float = 0.0
    unhealthy_seconds: float = 2.0
    reset_rate: float = 0.0
    stream_cut_rate: float = 0.0
    stream_cut_after: int = 3
    slow_first_byte_rate: float = 0.0
    slow_first_byte_seconds: float = 5.0
    stall_rate: float = 0.0
    stall_seconds: float = 30.0
    crash_after_requests: int | None = None
    crash_during_startup: str | None = None
    warmup_oom: bool = False
    retry_after: float | None = None


class Failure(Enum):
    """What a faulty request fails with; the first two answer at once, the last two after generation started."""

    UNHEALTHY = "unhealthy"  # inside an unhealthy window (TGI: 503)
    OVERLOADED = "overloaded"  # an overload burst (TGI: 429)
    GENERATION = "generation"  # a device error mid-generation (TGI: 424)
    INCOMPLETE = "incomplete"  # the generation ended early (TGI: 500)


@dataclass(frozen=True)
class FaultPlan:
    """What goes wrong with one request (all fields "nothing" for a healthy request)."""

    failure: Failure | None = None  # answered instead of generating (status error, or SSE error in streams)
    reset: bool = False  # connection reset before the first byte
    cut_after: int | None = None  # streams: drop the connection after this many tokens
    first_byte_delay: float = 0.0
    stall_seconds: float = 0.0  # pause after the first token

    @property
    def fail_mid_generation(self) -> bool:
        """The failure strikes after generation started (an error after tokens)."""
        return self.failure in (Failure.GENERATION, Failure.INCOMPLETE)

    @property
    def healthy(self) -> bool:
        return self == _HEALTHY


_HEALTHY = FaultPlan()


class FaultInjector:
    """Draws a `FaultPlan` per request; also answers whether /health is inside a 503 window."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._burst_left = 0
        self._unhealthy_until = 0.0
        self.requests_seen = 0
        self.enabled = any(
            rate > 0
            for rate in (
                config.generation_rate,
                config.incomplete_rate,
                config.overload_rate,
                config.unhealthy_rate,
                config.reset_rate,
                config.stream_cut_rate,
                config.slow_first_byte_rate,
                config.stall_rate,
            )
        )

    def unhealthy(self) -> bool:
        return time.monotonic() < self._unhealthy_until

    def crash_due(self) -> bool:
        """Count one generation request; True when it is the one `--emulator-crash-after-requests` names."""
        self.requests_seen += 1
        limit = self.config.crash_after_requests
        return limit is not None and self.requests_seen >= limit

    def plan(self) -> FaultPlan:
        if not self.enabled:
            return _HEALTHY
        c, rng = self.config, self._rng
        draws = [rng.random() for _ in range(8)]  # always 8 draws: decisions stay aligned across settings
        if self.unhealthy():
            return FaultPlan(failure=Failure.UNHEALTHY)
        if draws[0] < c.unhealthy_rate:
            self._unhealthy_until = time.monotonic() + c.unhealthy_seconds
            return FaultPlan(failure=Failure.UNHEALTHY)
        if self._burst_left > 0:
            self._burst_left -= 1
            return FaultPlan(failure=Failure.OVERLOADED)
        if draws[1] < c.overload_rate:
            self._burst_left = c.overload_burst - 1
            return FaultPlan(failure=Failure.OVERLOADED)
        if draws[2] < c.reset_rate:
            return FaultPlan(reset=True)
        if draws[3] < c.generation_rate:
            return FaultPlan(failure=Failure.GENERATION)
        if draws[4] < c.incomplete_rate:
            return FaultPlan(failure=Failure.INCOMPLETE)
        return FaultPlan(
            cut_after=c.stream_cut_after if draws[5] < c.stream_cut_rate else None,
            first_byte_delay=c.slow_first_byte_seconds if draws[6] < c.slow_first_byte_rate else 0.0,
            stall_seconds=c.stall_seconds if draws[7] < c.stall_rate else 0.0,
        )
