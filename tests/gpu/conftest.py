"""Settings for the doctor's pure checks: defaults only (no environment, .env or TOML of the developer)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.config.settings import Settings
from tests.helpers import isolate


@pytest.fixture
def make_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    isolate(monkeypatch, tmp_path)

    def make(**overrides: Any) -> Settings:
        values = {
            "host.cache_dir": str(tmp_path / "cache"),
            **{k.replace("__", "."): v for k, v in overrides.items()},
        }
        return load_settings(values, env_file=None)

    return make
