"""Compose tests run with a clean settings environment: no ORCHESTRATOR_* variables, no .env, no TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import isolate

REPO = Path(__file__).resolve().parents[2]
COMPOSE_DIR = REPO / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"


@pytest.fixture(autouse=True)
def clean_settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path, cache_home=False)
