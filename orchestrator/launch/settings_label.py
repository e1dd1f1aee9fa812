"""The settings a deployment's container carries in a label, and which of them differ from new ones.

`up` refuses a running deployment whose settings hash differs from the requested one; two hashes cannot say why.
So the container also carries, as compact JSON in one label, the settings that shape it and differ from the
defaults (a default deployment's label is `{}`). Secrets appear only as set (`***`) or unset: a label is public.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from orchestrator.config.settings import Settings, setting_paths
from orchestrator.launch.labels import label

__all__ = ["SETTINGS_LABEL", "changed_settings", "settings_label"]

SETTINGS_LABEL = label("settings")

_OUTSIDE_THE_CONTAINER = frozenset(
    {"timeouts.stall_pull", "timeouts.stall_download", "timeouts.stall_load", "timeouts.stall_warmup"}
)
"""Limits of the `up` command itself: they do not shape the container, so they are not carried."""


def _shown(value: Any, mask: Callable[[list[str]], list[str]] = list) -> Any:
    """A setting's value as JSON can hold it, secrets masked (`mask`: the engine's, for argument lists)."""
    if isinstance(value, SecretStr):
        return "***"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list):
        return mask([str(item) for item in value])
    return value


def _paths() -> list[str]:
    return [path for path in setting_paths() if path not in _OUTSIDE_THE_CONTAINER]


def _default(path: str) -> Any:
    group, name = path.split(".", 1)
    return _shown(getattr(Settings.model_fields[group].default, name))


def settings_label(settings: Settings) -> str:
    """The label value: the container-shaping settings that differ from the defaults, as compact JSON."""
    changed = {}
    for path in _paths():
        value = _shown(settings.value_at(path), settings.serving_engine.mask_secret_args)
        if value != _default(path):
            changed[path] = value
    return json.dumps(changed, separators=(",", ":"), sort_keys=True)


def _text(value: Any) -> str:
    return "unset" if value is None else json.dumps(value)


def changed_settings(old_label: str | None, new_label: str) -> list[str] | None:
    """`path: old → new` for each setting that differs between two labels; None when the old container has no
    readable label (created by an older version of this tool)."""
    try:
        old, new = json.loads(old_label or ""), json.loads(new_label)
    except ValueError:
        return None
    if not isinstance(old, dict) or not isinstance(new, dict):
        return None
    lines = []
    for path in _paths():
        before, after = old.get(path, _default(path)), new.get(path, _default(path))
        if before != after:
            lines.append(f"{path}: {_text(before)} → {_text(after)}")
    return lines
