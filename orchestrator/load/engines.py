"""What the load users send to each engine and how they read its answers: a `LoadWire` per engine (no I/O), and
which engine a run loads (given, or detected from the endpoint before Locust starts).

TGI's wire is its native `/generate` and `/generate_stream` (server counts in `details`) and chat with
`model: "tgi"`; vLLM's is `/v1/completions` (server counts in `usage`, streamed with
`stream_options.include_usage`) and chat with no `model` (vLLM then uses the served one). The same prompt string
serves both native routes: each engine adds BOS when it tokenizes it. `orchestrator load` resolves the engine once
and hands it to every Locust process in `ENGINE_ENV`, like the API key.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.engines.base import ServerMetrics
from orchestrator.engines.detection import TGI_PROBE, VLLM_PROBES, from_tgi_info, from_vllm_answers
from orchestrator.engines.tgi import routes as tgi_routes
from orchestrator.engines.vllm import routes as vllm_routes
from orchestrator.load.prompts import PromptSpec
from orchestrator.load.sse import CompletionStreamReader, GenerateStreamReader

__all__ = [
    "ENGINE_ENV",
    "WIRES",
    "GenerateAnswer",
    "LoadWire",
    "detect_engine",
    "server_metrics_of",
    "wire_for",
]

ENGINE_ENV = "ORCHESTRATOR_LOAD_ENGINE"
"""The engine (`tgi`, `vllm`) every Locust process of a run loads; unset: TGI."""

_USAGE = {"include_usage": True}


@dataclass(frozen=True, slots=True)
class GenerateAnswer:
    """What a non-streamed answer says: the server's token counts, the finish reason, the text."""

    output_tokens: int | None
    input_tokens: int | None
    finish_reason: str | None
    text: str


def _tgi_generate(data: Mapping[str, Any], header: Callable[[str], Any]) -> GenerateAnswer:
    details = data.get("details") or {}
    prompt_tokens = header("x-prompt-tokens")
    return GenerateAnswer(
        details.get("generated_tokens"),
        int(str(prompt_tokens)) if prompt_tokens else None,
        details.get("finish_reason"),
        data.get("generated_text", ""),
    )


def _vllm_generate(data: Mapping[str, Any], header: Callable[[str], Any]) -> GenerateAnswer:
    choice = (data.get("choices") or [{}])[0]
    usage = data.get("usage") or {}
    return GenerateAnswer(
        usage.get("completion_tokens"),
        usage.get("prompt_tokens"),
        choice.get("finish_reason"),
        choice.get("text", ""),
    )


@dataclass(frozen=True, slots=True)
class LoadWire:
    """One engine's routes, bodies and readers for the generate, stream and chat users."""

    kind: str
    generate_path: str
    stream_path: str
    chat_path: str
    generate_body: Callable[[PromptSpec], dict[str, Any]]
    stream_body: Callable[[PromptSpec], dict[str, Any]]
    chat_body: Callable[[PromptSpec], dict[str, Any]]
    stream_reader: type[GenerateStreamReader] | type[CompletionStreamReader]
    read_generate: Callable[[Mapping[str, Any], Callable[[str], Any]], GenerateAnswer]
    eos_reason: str
    """The finish reason meaning the model stopped by itself (the token check leaves such texts out)."""
    info_path: str = tgi_routes.INFO
    """What the report keeps as `server_info` (TGI's `/info`; vLLM's `/v1/models`)."""
    shared_routes: bool = False
    """Whether two scenarios use one route (vLLM's `/v1/completions`, streamed or not)."""


def _tgi_native(spec: PromptSpec) -> dict[str, Any]:
    return {
        "inputs": spec.as_inputs(),
        "parameters": {"max_new_tokens": spec.max_new_tokens, "details": True},
    }


def _completion(spec: PromptSpec) -> dict[str, Any]:
    return {"prompt": spec.as_inputs(), "max_tokens": spec.max_new_tokens}


def _chat(spec: PromptSpec, model: dict[str, Any]) -> dict[str, Any]:
    messages = {"messages": spec.as_messages(), "max_tokens": spec.max_new_tokens}
    return {**model, **messages, "stream": True, "stream_options": _USAGE}


WIRES: Mapping[str, LoadWire] = {
    "tgi": LoadWire(
        kind="tgi",
        generate_path=tgi_routes.GENERATE,
        stream_path=tgi_routes.GENERATE_STREAM,
        chat_path=tgi_routes.CHAT,
        generate_body=_tgi_native,
        stream_body=_tgi_native,
        chat_body=lambda spec: _chat(spec, {"model": "tgi"}),
        stream_reader=GenerateStreamReader,
        read_generate=_tgi_generate,
        eos_reason="eos_token",
    ),
    "vllm": LoadWire(
        kind="vllm",
        generate_path=vllm_routes.COMPLETIONS,
        stream_path=vllm_routes.COMPLETIONS,
        chat_path=vllm_routes.CHAT,
        generate_body=_completion,
        stream_body=lambda spec: {**_completion(spec), "stream": True, "stream_options": _USAGE},
        chat_body=lambda spec: _chat(spec, {}),
        stream_reader=CompletionStreamReader,
        read_generate=_vllm_generate,
        eos_reason="stop",
        info_path=vllm_routes.MODELS,
        shared_routes=True,
    ),
}


def wire_for(kind: str | None) -> LoadWire:
    """The wire of `kind` (None or empty: TGI); ValueError naming the choices for any other."""
    wire = WIRES.get(kind or "tgi")
    if wire is None:
        raise ValueError(f"engine {kind!r} cannot be load-tested: choose one of {', '.join(WIRES)}")
    return wire


def server_metrics_of(kind: str | None) -> ServerMetrics:
    """The engine's server-side metric names, for the /metrics difference of a run."""
    import importlib

    module = importlib.import_module(f"orchestrator.engines.{wire_for(kind).kind}.metrics")
    names = module.SERVER
    assert isinstance(names, ServerMetrics)
    return names


def _get_json(url: str, headers: Mapping[str, str], timeout: float) -> Any:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=dict(headers)), timeout=timeout
        ) as resp:
            return json.loads(resp.read())
    except Exception:  # an answer that is no engine's is "not this engine", whatever went wrong
        return None


def detect_engine(url: str, api_key: str | None = None, *, timeout: float = 5.0) -> str:
    """`vllm` when the endpoint answers as vLLM (`/version`, `/v1/models`), else `tgi` (also when it is down:
    the run then reports its failed requests as before)."""
    base = url.rstrip("/")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    if from_tgi_info(_get_json(base + TGI_PROBE, headers, timeout)) is not None:
        return "tgi"
    version, models = (_get_json(base + path, headers, timeout) for path in VLLM_PROBES)
    return "vllm" if from_vllm_answers(version, models) is not None else "tgi"
