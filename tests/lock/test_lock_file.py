"""The lock file: round trip, stable diff-friendly text, atomic writes, clear errors; the drift checks on a real
cache on disk (no Docker: the image identity is a plain value here; tests/lock/test_up_locked.py uses the engine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.config.settings import Settings
from orchestrator.lock.cache import cached_commit, find_cached
from orchestrator.lock.errors import LockFileError
from orchestrator.lock.lockfile import FORMAT, read_lock, render_lock, write_lock
from orchestrator.lock.pinning import cache_drift, image_drift, make_lock, settings_drift
from orchestrator.runtime.values import ImageIdentity
from tests.helpers import isolate
from tests.lock.cache_builder import COMMIT, build_cache

IMAGE = ImageIdentity(
    "ghcr.io/huggingface/text-generation-inference:3.3.7",
    "sha256:" + "1" * 64,
    ("ghcr.io/huggingface/text-generation-inference@sha256:" + "2" * 64,),
)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    isolate(monkeypatch, tmp_path)
    build_cache(tmp_path / "cache" / "hub")
    return load_settings({"host.cache_dir": str(tmp_path / "cache")}, env_file=None)


def test_round_trip_is_exact_and_the_text_is_stable_and_sorted(settings: Settings, tmp_path: Path) -> None:
    lock = make_lock(settings, find_cached(settings), IMAGE)
    path = tmp_path / "orchestrator.lock"
    assert write_lock(lock, path) is True
    assert read_lock(path) == lock
    text = path.read_text()
    data = json.loads(text)
    assert data["format"] == FORMAT and data["model"]["commit"] == COMMIT
    assert data["model"]["requested_revision"] == "main"
    assert data["image"]["digest"] == "sha256:" + "2" * 64 and data["image"]["image_id"] == IMAGE.image_id
    assert data["engine"] == {"kind": "tgi", "version": "3.3.7"}
    paths = [f["path"] for f in data["model"]["files"]]
    assert paths == sorted(paths) and "model.safetensors" in paths
    assert (
        text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )  # sorted keys everywhere
    # Writing the same lock again leaves the file alone; nothing temporary is left behind.
    assert write_lock(lock, path) is False
    assert sorted(p.name for p in tmp_path.iterdir() if "lock" in p.name) == ["orchestrator.lock"]
    assert render_lock(lock) == text


def test_a_broken_or_foreign_lock_file_is_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(LockFileError, match=r"no lock file at .*orchestrator lock"):
        read_lock(tmp_path / "missing.lock")
    (tmp_path / "bad.lock").write_text('{"format": "orchestrator.lock/1", "model": {}}')
    with pytest.raises(LockFileError, match=r"bad.lock is not a readable lock file \(KeyError"):
        read_lock(tmp_path / "bad.lock")
    (tmp_path / "old.lock").write_text('{"format": "orchestrator.lock/0"}')
    with pytest.raises(LockFileError, match=r"format 'orchestrator.lock/0'"):
        read_lock(tmp_path / "old.lock")


def test_secrets_never_reach_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path)
    build_cache(tmp_path / "cache" / "hub")
    token = "hf_SECRETtokenNEVERinTHElock0123456789"
    settings = load_settings(
        {"host.cache_dir": str(tmp_path / "cache"), "secrets.hf_token": token}, env_file=None
    )
    text = render_lock(make_lock(settings, find_cached(settings), IMAGE))
    assert token not in text and '"secrets.hf_token": "***"' in text


def test_each_kind_of_drift_has_its_own_message(settings: Settings, tmp_path: Path) -> None:
    weights = find_cached(settings)
    lock = make_lock(settings, weights, IMAGE)
    local = make_lock(settings, weights, ImageIdentity("my/emulator:dev", "sha256:" + "5" * 64, ()))
    assert (
        cache_drift(lock, weights, "") == []
        and image_drift(lock, IMAGE) == []
        and settings_drift(lock, settings) == []
    )

    # cache: a blob rewritten in place (same size), then a file gone
    blob = weights.snapshot.file("config.json").resolve()
    data = bytearray(blob.read_bytes())
    data[5] ^= 0x01
    blob.write_bytes(bytes(data))
    [drift] = cache_drift(lock, find_cached(settings), "")
    assert (
        drift.kind == "cache"
        and drift.message.startswith("config.json has sha256 ")
        and "the lock says" in drift.message
    )
    weights.snapshot.file("tokenizer.json").unlink()
    messages = [d.message for d in cache_drift(lock, cached_commit(settings, COMMIT)[0], "")]
    assert f"tokenizer.json is missing from the cached snapshot {COMMIT}" in messages

    # image: the tag now names another registry image; a local build rebuilt
    moved = ImageIdentity(
        IMAGE.reference, "sha256:" + "3" * 64, (IMAGE.reference.split(":")[0] + "@sha256:" + "4" * 64,)
    )
    [drift] = image_drift(lock, moved)
    assert (
        drift.kind == "image"
        and "is now sha256:4444" in drift.message
        and "registry digest sha256:2222" in drift.message
    )
    assert "engine.image=ghcr.io/huggingface/text-generation-inference@sha256:2222" in drift.fix
    [drift] = image_drift(local, ImageIdentity("my/emulator:dev", "sha256:" + "6" * 64, ()))
    assert (
        drift.message
        == f"local image my/emulator:dev is now id sha256:{'6' * 64}, the lock has id sha256:{'5' * 64}"
    )

    # settings: named, old → new
    changed = load_settings({"host.cache_dir": str(tmp_path / "cache"), "host.port": 8181}, env_file=None)
    [drift] = settings_drift(lock, changed)
    assert drift.kind == "settings" and drift.message == "settings changed: host.port: 8080 → 8181"
