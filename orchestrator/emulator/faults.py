"""Seeded fault injection: one RNG, one decision per generation request, in arrival order.

With the same `--emulator-fault-seed` and the same request order, the same requests fail the same way, so client
retry logic can be tested reproducibly. Windows (503 unhealthy) are timed; bursts (429) count requests.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from orchestrator.emulator.config import FaultConfig
from orchestrator.emulator.errors import ApiError, generation_error, overloaded

__all__ = ["FaultInjector", "FaultPlan", "unhealthy_error"]


def unhealthy_error() -> ApiError:
    return ApiError(503, "healthcheck", "unhealthy")


@dataclass(frozen=True)
class FaultPlan:
    """What goes wrong with one request (all fields "nothing" for a healthy request)."""

    error: ApiError | None = None  # answered instead of generating (status error, or SSE error in streams)
    fail_mid_generation: bool = False  # the error strikes after generation started (424/500 after tokens)
    reset: bool = False  # connection reset before the first byte
    cut_after: int | None = None  # streams: drop the connection after this many tokens
    first_byte_delay: float = 0.0
    stall_seconds: float = 0.0  # pause after the first token

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
            return FaultPlan(error=unhealthy_error())
        if draws[0] < c.unhealthy_rate:
            self._unhealthy_until = time.monotonic() + c.unhealthy_seconds
            return FaultPlan(error=unhealthy_error())
        if self._burst_left > 0:
            self._burst_left -= 1
            return FaultPlan(error=overloaded())
        if draws[1] < c.overload_rate:
            self._burst_left = c.overload_burst - 1
            return FaultPlan(error=overloaded())
        if draws[2] < c.reset_rate:
            return FaultPlan(reset=True)
        if draws[3] < c.generation_rate:
            return FaultPlan(error=generation_error("CUDA error: an illegal memory access was encountered"),
                             fail_mid_generation=True)  # fmt: skip
        if draws[4] < c.incomplete_rate:
            error = ApiError(500, "incomplete_generation", "Incomplete generation", "incomplete")
            return FaultPlan(error=error, fail_mid_generation=True)
        return FaultPlan(
            cut_after=c.stream_cut_after if draws[5] < c.stream_cut_rate else None,
            first_byte_delay=c.slow_first_byte_seconds if draws[6] < c.slow_first_byte_rate else 0.0,
            stall_seconds=c.stall_seconds if draws[7] < c.stall_rate else 0.0,
        )
