"""Rules on the engine choice that hold for every engine: the image is not another engine's, and shared limits
whose range does not depend on the engine (`limits.gpu_memory_fraction`)."""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.config.settings import Settings
from orchestrator.config.validation.common import problem
from orchestrator.engines import IMAGE_REPOSITORIES, KINDS, engine_for
from orchestrator.errors import ConfigProblem

__all__ = ["ENGINE_RULES"]


def _repository(image: str) -> str:
    return (
        image.split("@", 1)[0].rsplit(":", 1)[0]
        if ":" in image.rsplit("/", 1)[-1]
        else image.split("@", 1)[0]
    )


def _image_of_other_engine(settings: Settings) -> Iterator[ConfigProblem]:
    kind, repository = settings.engine.kind, _repository(settings.engine.image)
    for other in KINDS:
        if other == kind:
            continue
        if repository == IMAGE_REPOSITORIES[other]:
            theirs, ours = engine_for(other), engine_for(kind)
            yield problem(
                settings,
                "engine.image",
                f"is {theirs.name}'s image, but engine.kind is {kind} ({ours.name} flags would be passed to it)",
                f"use --engine {other} for this image, or drop the image setting to get {ours.default_image}",
            )


def _gpu_memory_fraction(settings: Settings) -> Iterator[ConfigProblem]:
    fraction = settings.limits.gpu_memory_fraction
    if fraction is not None and not 0 < fraction <= 1:
        yield problem(
            settings,
            "limits.gpu_memory_fraction",
            "must be in (0, 1]: the share of each GPU's memory the engine may take",
            "e.g. 0.9, or unset it for the engine's default (TGI 1.0, vLLM 0.92)",
        )


ENGINE_RULES = (_image_of_other_engine, _gpu_memory_fraction)
