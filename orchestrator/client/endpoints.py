"""Replica balancing without I/O: pick the endpoint with the fewest requests in flight (ties round-robin).

An endpoint that fails with a connection error or 503 (`TGIUnavailableError`) cools down for `cooldown` seconds:
new attempts go to the others while any is healthy. When every endpoint is cooling, the one whose cool-down ends
first is used anyway, so a single-replica client still retries. A success ends the cool-down.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from orchestrator.client.errors import TGIError, TGIUnavailableError

__all__ = ["Endpoint", "EndpointPool", "normalize_url"]


def normalize_url(url: str) -> str:
    """Validate a base URL (http/https with a host) and drop a trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"endpoint URL {url!r} is not an http(s) base URL; pass e.g. 'http://127.0.0.1:8080'"
        )
    if parts.username or parts.password:
        raise ValueError("endpoint URL must not embed credentials; pass api_key=... instead")
    return url.strip().rstrip("/")


@dataclass(slots=True)
class Endpoint:
    """One replica's live counters."""

    url: str
    in_flight: int = 0
    failures: int = 0
    cooldown_until: float = 0.0
    requests: int = 0

    def cooling(self, now: float) -> bool:
        return self.cooldown_until > now


class EndpointPool:
    """Thread-safe set of replicas shared by all calls of a client."""

    def __init__(self, urls: list[str], cooldown: float) -> None:
        if not urls:
            raise ValueError("a client needs at least one endpoint URL")
        normalized = [normalize_url(u) for u in urls]
        if len(set(normalized)) != len(normalized):
            raise ValueError(f"duplicate endpoint URLs in {normalized}")
        self.endpoints = [Endpoint(u) for u in normalized]
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._turn = 0  # rotates the starting point so ties are broken round-robin

    @property
    def urls(self) -> list[str]:
        return [e.url for e in self.endpoints]

    def acquire(self, avoid: set[str] | frozenset[str] = frozenset()) -> Endpoint:
        """The endpoint for the next attempt; counts it in flight until `release`."""
        endpoints = self.endpoints
        with self._lock:
            if len(endpoints) == 1:
                chosen = endpoints[0]
            else:
                now = time.monotonic()
                ready = [e for e in endpoints if not e.cooling(now) and e.url not in avoid]
                if not ready:
                    ready = [e for e in endpoints if not e.cooling(now)] or [
                        min(endpoints, key=lambda e: e.cooldown_until)
                    ]
                start = self._turn % len(ready)
                self._turn += 1
                chosen = min(ready[start:] + ready[:start], key=lambda e: e.in_flight)
            chosen.in_flight += 1
            chosen.requests += 1
            return chosen

    def release(self, endpoint: Endpoint, error: BaseException | None = None) -> None:
        """End an attempt; a connection failure or 503 starts the endpoint's cool-down."""
        with self._lock:
            endpoint.in_flight -= 1
            if error is None:
                endpoint.failures = 0
                endpoint.cooldown_until = 0.0
            elif isinstance(error, TGIUnavailableError):
                endpoint.failures += 1
                endpoint.cooldown_until = time.monotonic() + self.cooldown

    def note_failure(self, endpoint: Endpoint, error: TGIError, avoid: set[str]) -> None:
        """Remember within one call not to go back to a replica that just failed over."""
        if isinstance(error, TGIUnavailableError) and len(self.endpoints) > 1:
            avoid.add(endpoint.url)

    def has_alternative(self, avoid: set[str]) -> bool:
        """Whether another replica is ready now (then a failover need not wait for backoff)."""
        if len(self.endpoints) < 2:
            return False
        now = time.monotonic()
        with self._lock:
            return any(not e.cooling(now) and e.url not in avoid for e in self.endpoints)
