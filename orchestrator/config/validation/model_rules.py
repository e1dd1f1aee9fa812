"""Rules on the model reference that hold for every engine: a Hub id or a path, and a revision without spaces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from orchestrator.config.settings import Settings
from orchestrator.config.validation.common import problem
from orchestrator.errors import ConfigProblem

__all__ = ["MODEL_RULES"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


def _model_id(settings: Settings) -> Iterator[ConfigProblem]:
    model_id = settings.model.id
    if _HUB_ID.match(model_id) and ".." not in model_id:
        return
    if model_id.startswith("/") and PurePosixPath(model_id).is_absolute() and "\n" not in model_id:
        return
    yield problem(
        settings,
        "model.id",
        "must be a Hub id `org/name` (letters, digits, `-`, `_`, `.`) or an absolute path inside the container",
        "e.g. TheBloke/Mistral-7B-Instruct-v0.2-AWQ, or /data/my-model for weights already under the cache "
        "directory (mounted at /data); ids without an org moved to one (gpt2 -> openai-community/gpt2)",
    )


def _revision(settings: Settings) -> Iterator[ConfigProblem]:
    revision = settings.model.revision
    if revision is not None and (not revision.strip() or any(c.isspace() for c in revision)):
        yield problem(
            settings, "model.revision", "must be a branch, tag or commit without spaces", "e.g. main"
        )


MODEL_RULES = (_model_id, _revision)
