"""HTTP-level errors with TGI's bodies: JSON `{error, error_type}` for router errors, plain text for framework ones."""

from __future__ import annotations

__all__ = ["ApiError", "PlainError", "generation_error", "overloaded", "template_error", "validation_error"]


class ApiError(Exception):
    """A TGI router error: HTTP status + `{"error": message, "error_type": kind}`."""

    def __init__(self, status: int, error_type: str, message: str, metric: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.metric = metric  # `err` label of tgi_request_failure, when TGI counts it

    def body(self) -> dict[str, str]:
        return {"error": self.message, "error_type": self.error_type}


class PlainError(Exception):
    """A web-framework (axum) rejection: status + plain-text body, no JSON."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def validation_error(message: str) -> ApiError:
    return ApiError(422, "validation", f"Input validation error: {message}", "validation")


def overloaded() -> ApiError:
    return ApiError(429, "overloaded", "Model is overloaded", "overloaded")


def generation_error(detail: str) -> ApiError:
    return ApiError(424, "generation", f"Request failed during generation: {detail}", "generation")


def template_error(detail: str) -> ApiError:
    return ApiError(422, "template_error", detail, "template")
