"""One-shot HTTP probes of an engine's endpoint over a real socket (stdlib `http.client`, no pool, no retries).

Used by the start-up wait (health, then the engine's one-token readiness request), by `up` when attaching, and by
`status` (health, info, metrics); the paths come from the engine (`Engine.routes`). `check_health` tells a
timeout apart from no answer: TGI's `/health` waits behind a running forward pass, so a timeout on a connected
server means busy, not down.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from orchestrator.engines.base import ProbeRequest

__all__ = ["HealthAnswer", "check_health", "http_get", "probe_generate", "probe_health"]


def _connection(endpoint: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    return conn, parts.path.rstrip("/")


def http_get(endpoint: str, path: str, *, timeout: float = 1.0) -> tuple[int, bytes] | None:
    """GET `endpoint + path`; (status, body), or None when nothing answers (refused, reset, timeout)."""
    conn, prefix = _connection(endpoint, timeout)
    try:
        conn.request("GET", prefix + path)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def probe_health(endpoint: str, path: str, *, timeout: float = 1.0) -> int | None:
    """Status of GET `path` (the engine's health route), None when the port does not answer HTTP yet."""
    result = http_get(endpoint, path, timeout=timeout)
    return None if result is None else result[0]


def probe_generate(
    endpoint: str, request: ProbeRequest, *, api_key: str | None = None, timeout: float = 30.0
) -> tuple[bool, str]:
    """Send the engine's one-token readiness `request`; (True, "") on 200, else (False, why)."""
    conn, prefix = _connection(endpoint, timeout)
    body = json.dumps(dict(request.body))
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        conn.request(request.method, prefix + request.path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read()[:300].decode("utf-8", "replace")
        if response.status == 200:
            return True, ""
        return False, f"{request.path} answered {response.status} {text}".strip()
    except (OSError, http.client.HTTPException) as exc:
        return False, f"{request.path} failed: {exc}"
    finally:
        conn.close()


@dataclass(frozen=True)
class HealthAnswer:
    """GET /health: its status code, or None with `timed_out` telling "busy" from "nothing answers"."""

    code: int | None
    timed_out: bool = False


def check_health(endpoint: str, path: str, *, timeout: float = 1.0) -> HealthAnswer:
    """GET the health `path` once; a timeout is reported as such (accepted, but no answer in time)."""
    conn, prefix = _connection(endpoint, timeout)
    try:
        conn.request("GET", prefix + path)
        response = conn.getresponse()
        response.read()
        return HealthAnswer(response.status)
    except TimeoutError:
        return HealthAnswer(None, timed_out=True)
    except (OSError, http.client.HTTPException):
        return HealthAnswer(None)
    finally:
        conn.close()
