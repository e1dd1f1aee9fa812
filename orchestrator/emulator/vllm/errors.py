"""vLLM 0.33.0's error bodies: `{"error": {"message", "type", "param", "code"}}` [vllm-server.md §5].

Validation is 400 (never 422): schema errors are type `Bad Request` (pydantic's list), request checks
`BadRequestError` with the `(parameter=..., value=...)` suffix; unknown model 404 `NotFoundError`; a full queue 503
`Service Unavailable`; engine errors 500 `InternalServerError`. The fault plans of the core map onto these.
"""

from __future__ import annotations

from typing import Any

from orchestrator.emulator.core.faults import Failure, FaultPlan

__all__ = ["ENGINE_ERROR", "VllmError", "bad_request", "busy", "internal_error", "model_not_found",
           "planned_error", "schema_error"]  # fmt: skip

ENGINE_ERROR = "The server had an error while processing your request."
BUSY = ("The engine is currently busy and cannot accept new requests. Please try again later or on a different "
        "instance.")  # fmt: skip


class VllmError(Exception):
    """An error answer: HTTP status, vLLM's error type, message and the offending parameter."""

    def __init__(self, status: int, error_type: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.param = param

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.error_type, "param": self.param,
                          "code": self.status}}  # fmt: skip


def bad_request(text: str, parameter: str | None = None, value: Any = None) -> VllmError:
    """A `VLLMValidationError`: `<text> (parameter=<p>, value=<v>)`, parts only where set."""
    parts = [f"parameter={parameter}"] if parameter is not None else []
    if value is not None:
        parts.append(f"value={value}")
    message = f"{text} ({', '.join(parts)})" if parts else text
    return VllmError(400, "BadRequestError", message, parameter)


def schema_error(errors: list[str], param: str | None) -> VllmError:
    """FastAPI's RequestValidationError as vLLM renders it: `N validation error(s):` then one line each."""
    count = len(errors)
    head = f"{count} validation error{'s' if count > 1 else ''}:"
    return VllmError(400, "Bad Request", "\n  ".join([head, *errors[:10]]), param)


def model_not_found(name: str, served: tuple[str, ...]) -> VllmError:
    return VllmError(404, "NotFoundError",
                     f"The model `{name}` does not exist. Valid aliases: {', '.join(served)}.", "model")  # fmt: skip


def busy() -> VllmError:
    return VllmError(503, "Service Unavailable", BUSY)


def internal_error() -> VllmError:
    return VllmError(500, "InternalServerError", ENGINE_ERROR)


def planned_error(plan: FaultPlan) -> VllmError | None:
    """vLLM's answer to the failure a fault plan drew: 503 for an unhealthy window or an overload burst (vLLM
    queues rather than 429s), 500 for an engine error during generation (None: no failure)."""
    if plan.failure is None:
        return None
    if plan.failure in (Failure.UNHEALTHY, Failure.OVERLOADED):
        return busy()
    return internal_error()
