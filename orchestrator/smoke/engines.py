"""Which checks a smoke run asks: the engine's own (TGI's `CHECKS`, vLLM's `VLLM_CHECKS`), given or detected.

Detection asks the endpoint what the client asks (`orchestrator.engines.detection`): TGI's `/info`, else vLLM's
`/version` and `/v1/models` (with the API key, which vLLM's `/v1` routes need).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from orchestrator.engines.detection import TGI_PROBE, VLLM_PROBES, from_tgi_info, from_vllm_answers
from orchestrator.errors import OrchestratorError
from orchestrator.smoke.checks import CHECKS, Check
from orchestrator.smoke.http import HttpReply, SmokeHttp, SmokeTransportError
from orchestrator.smoke.vllm_checks import VLLM_CHECKS

__all__ = ["CHECKS_BY_ENGINE", "UnknownEngineError", "checks_for", "detect_engine"]

CHECKS_BY_ENGINE: Mapping[str, tuple[Check, ...]] = {"tgi": CHECKS, "vllm": VLLM_CHECKS}


class UnknownEngineError(OrchestratorError):
    """`engine` names no engine smoke has checks for."""

    exit_code = 2


def checks_for(engine: str) -> tuple[Check, ...]:
    """The checks of `engine` (`tgi` or `vllm`)."""
    try:
        return CHECKS_BY_ENGINE[engine]
    except KeyError:
        raise UnknownEngineError(
            f"engine {engine!r} has no smoke checks: choose one of {', '.join(CHECKS_BY_ENGINE)}"
        ) from None


def _json(reply: HttpReply) -> Any:
    if reply.status != 200:
        return None
    try:
        return reply.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def detect_engine(http: SmokeHttp, timeout: float) -> str:
    """`vllm` when the endpoint answers as vLLM; else `tgi`, the default, whose checks then say what is wrong
    (as they did before vLLM existed: a server that is down or half-broken fails TGI's checks one by one)."""
    try:
        if from_tgi_info(_json(http.get(TGI_PROBE, timeout=timeout))) is not None:
            return "tgi"
        version, models = (_json(http.get(path, timeout=timeout)) for path in VLLM_PROBES)
    except SmokeTransportError:
        return "tgi"
    return "vllm" if from_vllm_answers(version, models) is not None else "tgi"
