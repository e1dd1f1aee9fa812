"""Settings for plan and validation tests: built from flags-style overrides in an isolated working directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.settings import Settings, load_settings


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory (no .env, no orchestrator.toml) and no ORCHESTRATOR_* variables."""
    for key in list(os.environ):
        if key.startswith("ORCHESTRATOR_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def unchecked(**overrides: Any) -> Settings:
    """Settings from dotted-path overrides (`host__port=1` -> `host.port`), without validation."""
    return load_settings({k.replace("__", "."): v for k, v in overrides.items()}, validate=False)


def settings(**overrides: Any) -> Settings:
    """Validated settings from dotted-path overrides; raises ConfigError like every entry point."""
    return load_settings({k.replace("__", "."): v for k, v in overrides.items()})
