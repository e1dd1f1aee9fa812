"""HTTP-level errors with TGI's bodies: JSON `{error, error_type}` for router errors, plain text for framework ones."""

from __future__ import annotations

from orchestrator.emulator.core.faults import Failure, FaultPlan

__all__ = [
    "ApiError",
    "PlainError",
    "generation_error",
    "overloaded",
    "planned_error",
    "template_error",
    "unhealthy_error",
    "validation_error",
]


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


def unhealthy_error() -> ApiError:
    return ApiError(503, "healthcheck", "unhealthy")


def planned_error(plan: FaultPlan) -> ApiError | None:
    """TGI's answer to the failure a fault plan drew (None for a plan without one)."""
    if plan.failure is None:
        return None
    if plan.failure is Failure.UNHEALTHY:
        return unhealthy_error()
    if plan.failure is Failure.OVERLOADED:
        return overloaded()
    if plan.failure is Failure.GENERATION:
        return generation_error("CUDA error: an illegal memory access was encountered")
    return ApiError(500, "incomplete_generation", "Incomplete generation", "incomplete")
