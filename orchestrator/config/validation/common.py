"""What every rule shares: how a problem names its setting, source and (masked) value, and where to set it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from orchestrator.config.settings import Settings, env_var_for
from orchestrator.errors import ConfigProblem

__all__ = ["problem", "show", "where"]


def show(settings: Settings, value: Any) -> str:
    """A setting's value as an error shows it: secrets masked, and secret flags inside argument lists too."""
    if isinstance(value, SecretStr):
        return "'***'"
    if isinstance(value, list):
        return repr(settings.serving_engine.mask_secret_args([str(v) for v in value]))
    if isinstance(value, Path):
        return repr(str(value))
    return repr(value)


def problem(settings: Settings, path: str, rule: str, fix: str) -> ConfigProblem:
    return ConfigProblem(path, settings.source_of(path), show(settings, settings.value_at(path)), rule, fix)


def where(path: str) -> str:
    return f"{path} (--set {path}=..., {env_var_for(path)}, .env or orchestrator.toml)"
