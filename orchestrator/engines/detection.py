"""Which engine serves an endpoint, from what it answers: the probes and how to read their answers.

TGI answers `GET /info` with its model and limits (`model_id`, `max_total_tokens`); vLLM has no `/info` (404)
but answers `GET /version` with `{"version": ...}` and `GET /v1/models` with its served models, each with
`max_model_len` [tgi-server.md §6, vllm-server.md §5]. Pure: the caller sends the probes and hands the decoded
bodies here, so the client, smoke checks and load tests detect alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.engines.tgi import routes as tgi_routes
from orchestrator.engines.vllm import routes as vllm_routes

__all__ = ["TGI_PROBE", "VLLM_PROBES", "Detected", "from_tgi_info", "from_vllm_answers"]

TGI_PROBE = tgi_routes.INFO
VLLM_PROBES = (vllm_routes.VERSION, vllm_routes.MODELS)
"""Asked in order when `TGI_PROBE` is not TGI's; `/v1/models` needs the API key where one is set."""


@dataclass(frozen=True)
class Detected:
    """The engine found (`tgi` or `vllm`), its version, the served model and its context length where known."""

    kind: str
    version: str | None = None
    model: str | None = None
    """The model id (`/info.model_id`; vLLM: the served name, `/v1/models` `data[0].id`)."""
    max_context: int | None = None
    """Tokens a request may use in all (TGI: `max_total_tokens`; vLLM: `max_model_len`)."""


def from_tgi_info(info: Any) -> Detected | None:
    """TGI, when `/info` answered with its fields; else None (not TGI)."""
    if not isinstance(info, Mapping) or not isinstance(info.get("model_id"), str):
        return None
    total = info.get("max_total_tokens")
    version = info.get("version")
    return Detected(
        "tgi",
        version if isinstance(version, str) else None,
        info["model_id"],
        total if isinstance(total, int) else None,
    )


def from_vllm_answers(version: Any, models: Any) -> Detected | None:
    """vLLM, when `/version` gave `{"version"}` and `/v1/models` a model list; else None (not vLLM)."""
    if not isinstance(version, Mapping) or not isinstance(version.get("version"), str):
        return None
    if not isinstance(models, Mapping) or not isinstance(models.get("data"), list):
        return None
    cards = [card for card in models["data"] if isinstance(card, Mapping)]
    first = cards[0] if cards else {}
    name = first.get("id")
    length = first.get("max_model_len")
    return Detected(
        "vllm",
        version["version"],
        name if isinstance(name, str) else None,
        length if isinstance(length, int) else None,
    )
