"""The one seam between smoke checks and the network: `SmokeHttp`, and its `httpx2` implementation.

Checks only ever call `get`/`post`/`stream_lines` with a timeout, so tests can run them against a real server
(the emulator, a stub) or swap this seam. Every call has a deadline: a server that hangs fails the check
instead of hanging CI. The API key lives only in the Authorization header and is never part of a repr.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["HttpReply", "HttpxSmokeHttp", "SmokeHttp", "SmokeTimeout", "SmokeTransportError"]


class SmokeTransportError(Exception):
    """The request got no HTTP answer (connection refused, reset, protocol error)."""


class SmokeTimeout(SmokeTransportError, TimeoutError):
    """The answer did not arrive (completely) within the check's deadline."""


@dataclass(frozen=True)
class HttpReply:
    """What came back: status, lower-cased headers, the body, and for streams the body split into lines."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    lines: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class SmokeHttp(Protocol):
    """Minimal HTTP client for the checks. `authenticated=False` leaves the API key out (the 401 check)."""

    @property
    def url(self) -> str: ...

    @property
    def has_api_key(self) -> bool: ...

    def get(self, path: str, *, timeout: float, authenticated: bool = True) -> HttpReply: ...

    def post(self, path: str, payload: Any, *, timeout: float, authenticated: bool = True) -> HttpReply: ...

    def stream_lines(self, path: str, payload: Any, *, timeout: float) -> HttpReply: ...


class HttpxSmokeHttp:
    """`SmokeHttp` over one `httpx2.Client` (huggingface_hub's HTTP stack), direct: no proxies from the env."""

    def __init__(self, url: str, *, api_key: str | None = None) -> None:
        import httpx2

        self._url = url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx2.Client(base_url=self._url, trust_env=False, follow_redirects=False)

    def __repr__(self) -> str:
        return f"HttpxSmokeHttp(url={self._url!r}, api_key={'***' if self._auth else None})"

    @property
    def url(self) -> str:
        return self._url

    @property
    def has_api_key(self) -> bool:
        return bool(self._auth)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpxSmokeHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self, authenticated: bool) -> dict[str, str]:
        return dict(self._auth) if authenticated else {}

    def get(self, path: str, *, timeout: float, authenticated: bool = True) -> HttpReply:
        return self._send("GET", path, None, timeout, authenticated)

    def post(self, path: str, payload: Any, *, timeout: float, authenticated: bool = True) -> HttpReply:
        return self._send("POST", path, payload, timeout, authenticated)

    def _send(self, method: str, path: str, payload: Any, timeout: float, authenticated: bool) -> HttpReply:
        import httpx2

        try:
            response = self._client.request(
                method, path, json=payload, headers=self._headers(authenticated), timeout=timeout
            )
        except httpx2.TimeoutException as exc:
            raise SmokeTimeout(f"{method} {path}: no answer within {timeout:g} s") from exc
        except httpx2.HTTPError as exc:
            raise SmokeTransportError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        return HttpReply(response.status_code, _lower(response.headers), response.content)

    def stream_lines(self, path: str, payload: Any, *, timeout: float) -> HttpReply:
        """POST and read the whole event stream line by line, failing once `timeout` seconds have passed in total."""
        import httpx2

        deadline = time.monotonic() + timeout
        lines: list[str] = []
        try:
            with self._client.stream(
                "POST", path, json=payload, headers=self._headers(True), timeout=timeout
            ) as response:
                if response.status_code != 200:
                    response.read()
                    return HttpReply(response.status_code, _lower(response.headers), response.content)
                for line in response.iter_lines():
                    lines.append(line)
                    if time.monotonic() > deadline:
                        raise SmokeTimeout(
                            f"POST {path}: stream still open after {timeout:g} s ({len(lines)} lines read)"
                        )
                headers = _lower(response.headers)
        except httpx2.TimeoutException as exc:
            raise SmokeTimeout(
                f"POST {path}: stream stalled for {timeout:g} s after {len(lines)} lines"
            ) from exc
        except httpx2.HTTPError as exc:
            raise SmokeTransportError(f"POST {path}: {type(exc).__name__}: {exc}") from exc
        return HttpReply(200, headers, "\n".join(lines).encode(), tuple(lines))


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
