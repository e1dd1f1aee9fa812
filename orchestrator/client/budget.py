"""The retry budget: a token bucket that keeps retries to a share of calls, so an outage cannot become a storm.

Each call adds `ratio` tokens (capped at `burst`); each retry spends one. With the default ratio 0.2, retries add
at most 20 % load beyond a short burst, as gRPC's retry throttling and Envoy's retry budget do.
"""

from __future__ import annotations

import threading

__all__ = ["RetryBudget"]


class RetryBudget:
    """Token bucket bounding retries to `ratio` of calls (plus `burst`); thread-safe, shared by a client."""

    def __init__(self, ratio: float, burst: float) -> None:
        self.ratio = ratio
        self.burst = burst
        self._tokens = burst
        self._lock = threading.Lock()
        self.calls = 0
        self.retries = 0
        self.refused = 0

    def on_call(self) -> None:
        with self._lock:
            self.calls += 1
            self._tokens = (
                min(self.burst, self._tokens + self.ratio) if self.burst else self._tokens + self.ratio
            )

    def try_spend(self) -> bool:
        with self._lock:
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                self.retries += 1
                return True
            self.refused += 1
            return False

    @property
    def tokens(self) -> float:
        return self._tokens

    def __repr__(self) -> str:
        return f"RetryBudget(ratio={self.ratio}, burst={self.burst}, tokens={self._tokens:.2f})"
