"""`up`'s weights step decisions, with the pull seam swapped (the real pull runs in test_offline_up.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.config.settings import Settings
from orchestrator.deploy.weights_step import WeightsPolicy, plan_with_weights, prepare_weights
from orchestrator.lock.cache import find_cached
from orchestrator.lock.errors import CacheIncompleteError
from orchestrator.lock.pinning import make_lock
from orchestrator.runtime.values import ImageIdentity
from tests.helpers import isolate
from tests.lock.cache_builder import COMMIT, MODEL, build_cache


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    isolate(monkeypatch, tmp_path)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    return load_settings({"host.cache_dir": str(tmp_path / "cache"), "host.gpus": "none"}, env_file=None)


def _pull_into(hub: Path, calls: list[str]) -> Callable[[Settings, str, Callable[[str], None]], None]:
    def pull(settings: Settings, revision: str, say: Callable[[str], None]) -> None:
        calls.append(revision)
        build_cache(hub)

    return pull


def test_pull_then_an_offline_plan_at_the_commit_with_its_ref(settings: Settings, tmp_path: Path) -> None:
    calls: list[str] = []
    said: list[str] = []
    policy = WeightsPolicy(mode="pull", pull=_pull_into(tmp_path / "cache" / "hub", calls))
    plan = plan_with_weights(
        settings, policy, None, say=said.append, ensure_image=lambda image: None, identify=lambda image: None
    )
    assert calls == ["main"]
    assert plan.environment["HF_HUB_OFFLINE"] == "1"
    assert plan.command[plan.command.index("--revision") + 1] == COMMIT
    assert plan.labels["org.tgi-orchestrator.revision"] == COMMIT
    repo = tmp_path / "cache" / "hub" / f"models--{MODEL.replace('/', '--')}"
    assert (repo / "refs" / COMMIT).read_text() == COMMIT
    assert said[-1] == f"serving {MODEL} at commit {COMMIT} from the cache, offline"


def test_locked_pulls_the_locked_commit_not_the_branch(settings: Settings, tmp_path: Path) -> None:
    build_cache(tmp_path / "cache" / "hub")
    lock = make_lock(settings, find_cached(settings), ImageIdentity("x:3.3.7", "sha256:" + "1" * 64, ()))
    calls: list[str] = []
    policy = WeightsPolicy(mode="pull", lock=lock, pull=lambda s, revision, say: calls.append(revision))
    weights, drifts = prepare_weights(settings, policy, lambda text: None)
    assert calls == [COMMIT] and drifts == [] and weights is not None and weights.commit == COMMIT


def test_no_pull_and_path_models_leave_the_engine_to_itself(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    never = WeightsPolicy(mode="pull", pull=lambda *args: pytest.fail("no pull for a path model"))
    local = load_settings(
        {"host.cache_dir": str(tmp_path / "cache"), "model.id": "/models/mine"}, env_file=None
    )
    assert prepare_weights(local, never, lambda text: None) == (None, [])
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.example:8080")
    plan = plan_with_weights(
        settings, WeightsPolicy(mode="no-pull"), None, say=lambda text: None, ensure_image=lambda i: None,
        identify=lambda i: None,
    )  # fmt: skip
    assert "HF_HUB_OFFLINE" not in plan.environment and "--revision" not in plan.command
    assert plan.environment["HF_ENDPOINT"] == "http://mirror.example:8080"


def test_offline_never_pulls_and_names_what_is_missing(settings: Settings, tmp_path: Path) -> None:
    build_cache(tmp_path / "cache" / "hub", omit=("tokenizer.json",))
    policy = WeightsPolicy(mode="offline", pull=lambda *args: pytest.fail("offline must not pull"))
    with pytest.raises(CacheIncompleteError) as caught:
        prepare_weights(settings, policy, lambda text: None)
    assert caught.value.missing == ["tokenizer.json"] and caught.value.exit_code == 3
