"""What TGI's OpenAI-compatible routes share: request parameters, the model name, usage and stream errors.

Mapping as TGI 3.3.x: `max_tokens` (alias `max_completion_tokens`) -> max_new_tokens; `temperature: 0` -> greedy,
otherwise sampling; `presence_penalty` p -> repetition_penalty p + 2. Streams end with `data: [DONE]`; errors inside
chat/completion streams are `{"error": {"message", "http_status_code": 422}}` events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.emulator.core.generation import Generation
from orchestrator.emulator.core.http import json_text
from orchestrator.emulator.tgi.errors import ApiError
from orchestrator.emulator.tgi.service import Job, Service

__all__ = ["DONE", "chat_error_event", "common_params", "model_name", "usage"]

DONE = "data: [DONE]\n\n"


def model_name(service: Service, req: Mapping[str, Any]) -> str:
    model = req.get("model")
    return model if isinstance(model, str) and model and model != "tgi" else service.config.model_id


def common_params(req: Mapping[str, Any]) -> dict[str, Any]:
    """Generation parameters from a typed chat or completion request (`schema.CHAT` / `schema.COMPLETION`)."""
    params: dict[str, Any] = {"details": True}
    if req.get("max_tokens") is not None:
        params["max_new_tokens"] = req["max_tokens"]
    temperature = req.get("temperature")
    if temperature == 0.0:
        params["do_sample"] = False
    else:
        params["do_sample"] = True
        if temperature is not None:
            params["temperature"] = temperature
    for name in ("top_p", "frequency_penalty", "repetition_penalty", "seed", "stop"):
        if req.get(name) is not None:
            params[name] = req[name]
    if req.get("presence_penalty") is not None:
        params["repetition_penalty"] = req["presence_penalty"] + 2.0
    return params


def usage(job: Job, generation: Generation) -> dict[str, int]:
    prompt, completion = job.valid.input_length, len(generation.ids)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chat_error_event(error: ApiError) -> str:
    return "data: " + json_text({"error": {"message": error.message, "http_status_code": 422}}) + "\n\n"
