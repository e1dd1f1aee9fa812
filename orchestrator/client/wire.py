"""How each client method goes over the wire of one engine: its routes, bodies and readers, as a `Wire`.

TGI's wire is its native `/generate` + `/generate_stream` and chat through huggingface_hub; vLLM's is
`/v1/completions` (streamed with usage) and a raw `/v1/chat/completions` (`openai_protocol.py`). The shells ask
their wire and never branch on the engine's name for a route or a body. `wire_for(detected)` builds one from
what detection found (vLLM's `max_model_len` lets `generate` ask for the rest of the context, as TGI does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from orchestrator.client.openai_protocol import (
    completion_body,
    completion_reader,
    completion_result,
    completion_text,
    openai_chat_body,
)
from orchestrator.client.protocol import (
    StreamReader,
    build_chat_body,
    build_generate_body,
    generated_text,
    parse_generate,
    token_reader,
)
from orchestrator.client.results import CallStats, GenerateResult, TokenEvent
from orchestrator.engines.detection import Detected
from orchestrator.engines.tgi import routes as tgi_routes
from orchestrator.engines.vllm import routes as vllm_routes

__all__ = ["ENGINE_KINDS", "TGI_WIRE", "Wire", "vllm_wire", "wire_for"]


@dataclass(frozen=True, slots=True)
class Wire:
    """One engine's wire for `generate`, `stream`, `chat` and `chat_stream`."""

    kind: str
    name: str
    generate_path: str
    stream_path: str
    chat_path: str
    generate_body: Callable[[str, dict[str, Any], bool], bytes]
    """(prompt, parameters, details) -> body of `generate`; `stream` sends `stream_body`."""
    stream_body: Callable[[str, dict[str, Any]], bytes]
    text: Callable[[bytes], str]
    result: Callable[[bytes, Mapping[str, str], CallStats, str], GenerateResult]
    token_reader: Callable[[str, CallStats], StreamReader[TokenEvent]]
    chat_body: Callable[[Sequence[Mapping[str, Any]], dict[str, Any], bool], bytes]
    chat_via_hub: bool
    """True: non-streamed `chat` goes through huggingface_hub's `chat_completion` (TGI); else a raw POST."""


TGI_WIRE = Wire(
    kind="tgi",
    name="TGI",
    generate_path=tgi_routes.GENERATE,
    stream_path=tgi_routes.GENERATE_STREAM,
    chat_path=tgi_routes.CHAT,
    generate_body=lambda prompt, params, details: build_generate_body(prompt, params, details=details),
    stream_body=lambda prompt, params: build_generate_body(prompt, params, details=True),
    text=generated_text,
    result=parse_generate,
    token_reader=token_reader,
    chat_body=lambda messages, params, stream: build_chat_body(messages, params, stream=stream),
    chat_via_hub=True,
)


def vllm_wire(max_context: int | None = None) -> Wire:
    """vLLM's wire; `max_context` (its `max_model_len`) is the `max_tokens` sent when none is asked for."""
    body = partial(completion_body, max_context=max_context)
    return Wire(
        kind="vllm",
        name="vLLM",
        generate_path=vllm_routes.COMPLETIONS,
        stream_path=vllm_routes.COMPLETIONS,
        chat_path=vllm_routes.CHAT,
        generate_body=lambda prompt, params, details: body(prompt, params, stream=False),
        stream_body=lambda prompt, params: body(prompt, params, stream=True),
        text=completion_text,
        result=completion_result,
        token_reader=completion_reader,
        chat_body=lambda messages, params, stream: openai_chat_body(messages, params, stream=stream),
        chat_via_hub=False,
    )


ENGINE_KINDS = ("tgi", "vllm")
"""What `engine=` accepts (None: detect from the endpoint)."""


def wire_for(found: Detected | str) -> Wire:
    """The wire of a detected engine, or of one named by `engine=`."""
    kind = found if isinstance(found, str) else found.kind
    if kind == "tgi":
        return TGI_WIRE
    if kind == "vllm":
        return vllm_wire(None if isinstance(found, str) else found.max_context)
    raise ValueError(f"engine={kind!r} is not one of {', '.join(ENGINE_KINDS)} (or None to detect it)")
