"""`pull` writes where the engine of these settings reads: asked of the launch plan, per engine version."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.weights.location import container_hub_cache, host_hub_cache
from tests.helpers import isolate


@pytest.mark.parametrize(
    ("version", "below"),
    [
        ("3.3.7", "hub"),
        ("2.3.0", "hub"),
        ("2.2.0", ""),
    ],  # HF_HOME=/data from 2.3.0, HUGGINGFACE_HUB_CACHE before
)
def test_host_hub_cache_follows_the_engine(
    version: str, below: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate(monkeypatch, tmp_path)
    settings = load_settings(
        {
            "host.cache_dir": str(tmp_path / "data"),
            "engine.image": f"ghcr.io/huggingface/text-generation-inference:{version}",
        }
    )
    assert host_hub_cache(settings) == (tmp_path / "data" / below if below else tmp_path / "data")


def test_huggingface_hub_precedence_inside_the_container() -> None:
    assert container_hub_cache({"HF_HOME": "/data"}) == "/data/hub"
    assert container_hub_cache({"HF_HOME": "/data", "HUGGINGFACE_HUB_CACHE": "/cache"}) == "/cache"
    assert container_hub_cache({"HUGGINGFACE_HUB_CACHE": "/cache", "HF_HUB_CACHE": "/hub"}) == "/hub"
    assert container_hub_cache({}) is None
