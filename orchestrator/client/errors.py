"""The client's error subtree, grouped by what a caller can do about each error.

    OrchestratorError                      (orchestrator.errors)
    └── TGIError                           any failed call; keeps status, error_type, server message, attempts
        ├── TGIValidationError             400/413/422: the request itself is wrong; fix it, never retried
        ├── TGIAuthenticationError         401/403: the API key is missing or wrong; never retried
        ├── TGIOverloadedError             429 `overloaded`: all permits taken; retried with backoff
        ├── TGIGenerationError             424 `generation`, 500 `incomplete_generation`; retried
        ├── TGIUnavailableError            503, connection refused/reset, timeout before the first byte; retried,
        │                                  and the endpoint is skipped for a cool-down
        ├── TGIDeadlineExceededError       the call's total deadline ran out (also a builtin `TimeoutError`)
        └── TGIStreamInterruptedError      a stream broke after tokens reached the caller; carries the partial
                                           text and token count so nothing is silently lost or duplicated

Every error is raised through `translate.py`, whichever layer failed (huggingface_hub, httpx2, an SSE error
event), so callers catch one tree. Messages never contain request headers, so the API key cannot leak.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.errors import OrchestratorError

if TYPE_CHECKING:
    from orchestrator.client.results import CallStats

__all__ = [
    "TGIAuthenticationError",
    "TGIDeadlineExceededError",
    "TGIError",
    "TGIGenerationError",
    "TGIOverloadedError",
    "TGIStreamInterruptedError",
    "TGIUnavailableError",
    "TGIValidationError",
]


class TGIError(OrchestratorError):
    """A call to a TGI endpoint failed.

    `status` is the HTTP status (None when no response arrived), `error_type` TGI's `error_type` field (or a
    client-side kind such as `connect` or `read_timeout`), `server_message` the server's `error` text, `attempts`
    how many attempts the call made, `endpoint` the base URL of the last attempt, `retry_after` the seconds a
    `Retry-After` header asked for, and `stats` the whole call's `CallStats`.
    """

    exit_code = 6  # 5 is `orchestrator load`'s missed SLO

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        server_message: str | None = None,
        endpoint: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.server_message = server_message
        self.endpoint = endpoint
        self.attempts = attempts
        self.retry_after = retry_after
        self.stats: CallStats | None = None
        """The failed call's statistics (attempts, retry reasons, time waited), once the call gave up."""

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.error_type:
            parts.append(f"error_type={self.error_type}")
        if self.endpoint:
            parts.append(f"endpoint={self.endpoint}")
        parts.append(f"after {self.attempts} attempt{'s' if self.attempts != 1 else ''}")
        return f"{parts[0]} ({', '.join(parts[1:])})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"error_type={self.error_type!r}, attempts={self.attempts!r})"
        )


class TGIValidationError(TGIError):
    """The server rejected the request as invalid (400, 413, 422): retrying cannot help."""


class TGIAuthenticationError(TGIError):
    """The endpoint wants a valid `Authorization: Bearer` API key (401/403)."""


class TGIOverloadedError(TGIError):
    """TGI refused the request at once because every concurrency permit was taken (429)."""


class TGIGenerationError(TGIError):
    """Generation failed on the server (424 `generation`, 500 `incomplete_generation`)."""


class TGIUnavailableError(TGIError):
    """No usable answer: 503, connection refused or reset, or a timeout before the first byte."""


class TGIDeadlineExceededError(TGIError, TimeoutError):
    """The call's total deadline passed; `last_error` is the failure of the last attempt, if any."""

    def __init__(
        self,
        message: str,
        *,
        last_error: TGIError | None = None,
        endpoint: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(
            message,
            status=last_error.status if last_error else None,
            error_type="deadline_exceeded",
            server_message=last_error.server_message if last_error else None,
            endpoint=endpoint,
            attempts=attempts,
        )
        self.last_error = last_error


class TGIStreamInterruptedError(TGIError):
    """A stream broke after tokens reached the caller; it is not retried, to avoid duplicating output.

    `partial_text` is the concatenated text of the tokens delivered, `tokens_received` their count.
    """

    def __init__(
        self,
        message: str,
        *,
        partial_text: str,
        tokens_received: int,
        status: int | None = None,
        error_type: str | None = None,
        server_message: str | None = None,
        endpoint: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(
            message,
            status=status,
            error_type=error_type,
            server_message=server_message,
            endpoint=endpoint,
            attempts=attempts,
        )
        self.partial_text = partial_text
        self.tokens_received = tokens_received
