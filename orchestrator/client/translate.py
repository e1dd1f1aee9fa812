"""Map every foreign failure onto the client's error tree (`errors.py`), once, at the boundary.

Three sources: an HTTP error response (status, headers, body), an SSE error event inside a 200 stream, and a
Python exception from `httpx2` (transport) or `huggingface_hub` (which wraps some statuses in its own classes and
leaves transport errors raw). No request header is ever read here, so an API key cannot reach a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2

from orchestrator.client.errors import (
    TGIAuthenticationError,
    TGIError,
    TGIGenerationError,
    TGIOverloadedError,
    TGIUnavailableError,
    TGIValidationError,
)
from orchestrator.engines.vllm import errors as vllm_errors

__all__ = [
    "error_from_exception",
    "error_from_response",
    "error_from_sse",
    "parse_retry_after",
]

_BY_ERROR_TYPE: dict[str, type[TGIError]] = {
    "validation": TGIValidationError,
    "template_error": TGIValidationError,
    "missing_template_variable": TGIValidationError,
    "tool_error": TGIValidationError,
    "overloaded": TGIOverloadedError,
    "generation": TGIGenerationError,
    "incomplete_generation": TGIGenerationError,
    "incomplete_generation_stream": TGIGenerationError,
    "healthcheck": TGIUnavailableError,
}
_BY_KIND: dict[str, type[TGIError]] = {
    "validation": TGIValidationError,
    "generation": TGIGenerationError,
    "unavailable": TGIUnavailableError,
}
_BY_ERROR_TYPE.update({t: _BY_KIND[kind] for t, kind in vllm_errors.KINDS.items()})
"""vLLM's error types (`BadRequestError`, `NotFoundError`, ...) by the kind the engine seam gives them."""

GENERATION_500 = frozenset(
    {"incomplete_generation", "generation", *(t for t, k in vllm_errors.KINDS.items() if k == "generation")}
)
"""Error types of a 500 that mean generation failed (retried), not a server bug: TGI's and vLLM's."""

_BY_STATUS: dict[int, type[TGIError]] = {
    400: TGIValidationError,
    401: TGIAuthenticationError,
    403: TGIAuthenticationError,
    413: TGIValidationError,
    415: TGIValidationError,
    422: TGIValidationError,
    424: TGIGenerationError,
    429: TGIOverloadedError,
    502: TGIUnavailableError,
    503: TGIUnavailableError,
    504: TGIUnavailableError,
}

_MAX_MESSAGE = 500


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        import time

        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _class_for(status: int | None, error_type: str | None) -> type[TGIError]:
    if error_type in _BY_ERROR_TYPE:
        return _BY_ERROR_TYPE[error_type]
    if status is not None and status in _BY_STATUS:
        return _BY_STATUS[status]
    return TGIError


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    endpoint: str | None = None,
    *,
    key_sent: bool | None = None,
) -> TGIError:
    """An error for a non-2xx response; TGI's JSON body `{error, error_type}`, vLLM's `{error: {message, type,
    param, code}}` (or `{error: "Unauthorized"}`, `{detail}`), or a framework's plain text.

    `key_sent` (whether the request carried an API key, when known) picks the 401 hint.
    """
    server_message: str | None = None
    error_type: str | None = None
    engine = "TGI"
    text = body[:4096].decode("utf-8", "replace").strip()
    if text:
        server_message = text[:_MAX_MESSAGE]
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        if isinstance(payload, Mapping):
            raw_error = payload.get("error")
            if isinstance(raw_error, Mapping):  # OpenAI-style {"error": {"message": ...}}
                server_message = str(raw_error.get("message", ""))[:_MAX_MESSAGE] or server_message
                error_type = raw_error.get("type") if isinstance(raw_error.get("type"), str) else None
            elif raw_error is not None:
                server_message = str(raw_error)[:_MAX_MESSAGE]
            if isinstance(payload.get("error_type"), str):
                error_type = payload["error_type"]
            elif vllm_errors.parse_error(payload) is not None:
                engine = "vLLM"  # TGI's error bodies always name an error_type
    cls = _class_for(status, error_type)
    if status == 500 and error_type not in GENERATION_500:
        cls = TGIError  # e.g. stream_serialization_error: a server bug, not transient
    retry_after = parse_retry_after(headers.get("retry-after"))
    what = server_message or "(empty body)"
    if status == 401:
        what = _AUTH_HINTS[key_sent]
    return cls(
        f"{engine} answered {status}: {what}",
        status=status,
        error_type=error_type,
        server_message=server_message,
        endpoint=endpoint,
        retry_after=retry_after,
    )


_FROM_SETTINGS = (
    "a client made from a URL does not read the environment; TGIClient.from_settings(load_settings()) takes "
    "secrets.api_key, e.g. from ORCHESTRATOR_SECRETS__API_KEY"
)
_AUTH_HINTS: Mapping[bool | None, str] = {
    True: "the endpoint refused the API key sent (check the client's api_key against the server's --api-key)",
    False: f"the endpoint needs an API key and none was sent: pass api_key=... ({_FROM_SETTINGS})",
    None: f"the endpoint needs a valid API key: pass api_key=... ({_FROM_SETTINGS})",
}
"""The 401 hint by whether a key was sent: a client built from a URL never reads the environment."""


def key_was_sent(response: Any) -> bool | None:
    """Whether `response`'s request carried an Authorization header; None when the request is not known."""
    try:
        return "authorization" in response.request.headers
    except (AttributeError, RuntimeError):
        return None


def error_from_sse(payload: Mapping[str, Any], endpoint: str | None = None) -> TGIError:
    """An error event inside a 200 stream: `{error, error_type}` (generate) or `{error: {message, ...}}` (chat)."""
    raw = payload.get("error")
    status: int | None = None
    error_type = payload.get("error_type") if isinstance(payload.get("error_type"), str) else None
    if isinstance(raw, Mapping):
        message = str(raw.get("message", ""))
        code = raw.get("http_status_code", raw.get("code"))  # TGI's name, vLLM's
        status = int(code) if isinstance(code, int) and not isinstance(code, bool) else None
        if error_type is None and isinstance(raw.get("type"), str):
            error_type = raw["type"]
    else:
        message = str(raw)
    cls = _class_for(status, error_type)
    return cls(
        f"TGI stream error: {message[:_MAX_MESSAGE]}",
        status=status,
        error_type=error_type,
        server_message=message[:_MAX_MESSAGE],
        endpoint=endpoint,
    )


def error_from_exception(
    exc: BaseException, endpoint: str | None = None, *, first_byte: bool = False
) -> TGIError:
    """Translate an exception from httpx2 or huggingface_hub; `first_byte` says if any response had arrived.

    Transport failures before the first byte become `TGIUnavailableError` (retryable, with `error_type`
    `connect`, `connect_timeout`, `read_timeout` or `connection_reset`); after it they keep a `*_after_first_byte`
    kind and are not retried, since the server may already have done the work.
    """
    if isinstance(exc, TGIError):
        return exc
    from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError

    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        return _from_hf_response(exc.response, endpoint)
    cause = exc.__cause__
    if isinstance(exc, InferenceTimeoutError) and isinstance(cause, BaseException):
        return error_from_exception(cause, endpoint, first_byte=first_byte)
    if isinstance(cause, HfHubHTTPError) and cause.response is not None:
        return _from_hf_response(cause.response, endpoint)  # TGI-specific hf errors keep the response here
    if isinstance(exc, httpx2.TransportError):
        return _from_transport(exc, endpoint, first_byte)
    hf_kind = _HF_ERROR_TYPES.get(type(exc).__name__)
    if hf_kind is not None:
        cls = _BY_ERROR_TYPE[hf_kind]
        return cls(f"TGI error: {str(exc)[:_MAX_MESSAGE]}", error_type=hf_kind, endpoint=endpoint)
    return TGIError(
        f"unexpected client failure: {type(exc).__name__}: {str(exc)[:_MAX_MESSAGE]}", endpoint=endpoint
    )


_HF_ERROR_TYPES = {
    "ValidationError": "validation",
    "GenerationError": "generation",
    "OverloadedError": "overloaded",
    "IncompleteGenerationError": "incomplete_generation",
}


def _from_hf_response(response: Any, endpoint: str | None) -> TGIError:
    try:
        body = response.content
    except Exception:  # a streamed error response that was never read
        body = b""
    return error_from_response(
        int(response.status_code), response.headers, body, endpoint, key_sent=key_was_sent(response)
    )


def _from_transport(exc: httpx2.TransportError, endpoint: str | None, first_byte: bool) -> TGIError:
    if isinstance(exc, httpx2.ConnectTimeout):
        kind, what = "connect_timeout", "connecting timed out"
    elif isinstance(exc, httpx2.ConnectError):
        kind, what = "connect", "could not connect"
    elif isinstance(exc, httpx2.TimeoutException):
        kind, what = "read_timeout", "no answer within the read timeout"
    else:
        kind, what = "connection_reset", "the connection broke"
    if first_byte:
        kind += "_after_first_byte"
        return TGIError(
            f"{what} after the response started ({type(exc).__name__})", error_type=kind, endpoint=endpoint
        )
    return TGIUnavailableError(f"{what} ({type(exc).__name__})", error_type=kind, endpoint=endpoint)
