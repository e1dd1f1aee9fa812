"""Settings for plan and validation tests: built from flags-style overrides in an isolated working directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.config.settings import Settings
from tests.helpers import isolate


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory (no .env, no orchestrator.toml) and no ORCHESTRATOR_* variables."""
    yield isolate(monkeypatch, tmp_path)


def unchecked(**overrides: Any) -> Settings:
    """Settings from dotted-path overrides (`host__port=1` -> `host.port`), without validation."""
    return load_settings({k.replace("__", "."): v for k, v in overrides.items()}, validate=False)


def settings(**overrides: Any) -> Settings:
    """Validated settings from dotted-path overrides; raises ConfigError like every entry point."""
    return load_settings({k.replace("__", "."): v for k, v in overrides.items()})
