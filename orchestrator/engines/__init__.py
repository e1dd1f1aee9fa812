"""What is true of each serving engine, behind one typed seam: `Engine` (see `orchestrator.engines.base`).

`engine_for(kind)` returns the engine of that kind; each lives in its own subpackage (`tgi`, `vllm`), loaded on
first use. Adding an engine is adding a subpackage that builds an `Engine`, and its name to `KINDS`.
"""

from __future__ import annotations

import importlib

from orchestrator.engines.base import Engine, Phase

__all__ = ["DEFAULT_KIND", "IMAGE_REPOSITORIES", "KINDS", "Engine", "Phase", "engine_for"]

KINDS: tuple[str, ...] = ("tgi", "vllm")
DEFAULT_KIND = "tgi"
IMAGE_REPOSITORIES: dict[str, str] = {
    "tgi": "ghcr.io/huggingface/text-generation-inference",
    "vllm": "vllm/vllm-openai",
}
"""Each engine's official image repository, known without loading the engine (a TGI start need not import
vLLM's package to refuse vLLM's image); `Engine.default_image` is a tag of it (tests/test_engines.py)."""


def engine_for(kind: str = DEFAULT_KIND) -> Engine:
    """The engine called `kind` (one of `KINDS`); ValueError for any other name."""
    if kind not in KINDS:
        raise ValueError(f"unknown engine {kind!r}: choose one of {', '.join(KINDS)}")
    engine = importlib.import_module(f"orchestrator.engines.{kind}").ENGINE
    assert isinstance(engine, Engine)
    return engine
