"""Make a lock from what is here, and compare what is here with a lock: the cache, the image, the settings.

Each kind of drift gets its own message and fix, so `up --locked` says exactly what moved: a file of the snapshot
(missing, other size, other content), the image behind the reference (another registry digest, or another local
build), or a setting (by name, old → new, from the settings the lock carries).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from orchestrator.launch.settings_label import changed_settings, settings_label
from orchestrator.lock.cache import CachedWeights, hash_files
from orchestrator.lock.errors import Drift
from orchestrator.lock.lockfile import (
    LockedEngine,
    LockedFile,
    LockedImage,
    LockedModel,
    LockedSettings,
    LockFile,
)

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.runtime.values import ImageIdentity

__all__ = ["cache_drift", "image_drift", "make_lock", "settings_drift", "settings_hash"]

_RELOCK = "if the change is intended, run `orchestrator lock` to accept it (and commit the new lock file)"


def settings_hash(settings: Settings) -> tuple[str, str]:
    """(hash, label JSON) of the container-shaping settings (`launch.settings_label`: secrets as `***`)."""
    text = settings_label(settings)
    return hashlib.sha256(text.encode()).hexdigest()[:16], text


def _engine(settings: Settings) -> LockedEngine:
    engine = settings.serving_engine
    version = settings.engine.version
    return LockedEngine(engine.kind, engine.format_version(version) if version else "unknown")


def make_lock(settings: Settings, weights: CachedWeights, image: ImageIdentity) -> LockFile:
    """The lock of `settings` served from `weights` with `image` (each file hashed: reads the whole snapshot)."""
    digest, label_text = settings_hash(settings)
    digests = image.digests
    return LockFile(
        model=LockedModel(weights.repo_id, weights.requested, weights.commit, hash_files(weights.snapshot)),
        engine=_engine(settings),
        image=LockedImage(image.reference, digests[0] if digests else None, image.image_id),
        settings=LockedSettings(digest, json.loads(label_text)),
    )


def settings_drift(lock: LockFile, settings: Settings) -> list[Drift]:
    digest, label_text = settings_hash(settings)
    drifts = []
    if digest != lock.settings.hash:
        old = json.dumps(lock.settings.values, separators=(",", ":"), sort_keys=True)
        changed = changed_settings(old, label_text) or [f"settings hash {lock.settings.hash} → {digest}"]
        drifts.append(Drift("settings", "settings changed: " + "; ".join(changed), _RELOCK))
    engine = _engine(settings)
    if engine != lock.engine:
        drifts.append(
            Drift(
                "settings",
                f"engine changed: {lock.engine.kind} {lock.engine.version} → {engine.kind} {engine.version}",
                _RELOCK,
            )
        )
    return drifts


def cache_drift(lock: LockFile, weights: CachedWeights | None, where: str) -> list[Drift]:
    """Each locked file that is missing from the cached snapshot of the locked commit or differs from it."""
    model = lock.model
    fix = (
        f"run `orchestrator pull --revision {model.commit}` to restore the locked files "
        f"(a changed file is removed and fetched again); {_RELOCK}"
    )
    if weights is None:
        return [
            Drift(
                "cache", f"the cache has no snapshot of {model.repo} at commit {model.commit} ({where})", fix
            )
        ]
    found = {f.path: f for f in hash_files(weights.snapshot)}
    drifts = []
    for locked in model.files:
        now: LockedFile | None = found.get(locked.path)
        if now is None:
            drifts.append(
                Drift("cache", f"{locked.path} is missing from the cached snapshot {model.commit}", fix)
            )
        elif now.size != locked.size:
            drifts.append(
                Drift("cache", f"{locked.path} has {now.size} bytes, the lock says {locked.size}", fix)
            )
        elif now.sha256 != locked.sha256:
            drifts.append(
                Drift("cache", f"{locked.path} has sha256 {now.sha256}, the lock says {locked.sha256}", fix)
            )
    return drifts


def _repository(reference: str) -> str:
    """`registry:5000/org/name:tag` -> `registry:5000/org/name` (a tag follows the last `/` only)."""
    name = reference.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def image_drift(lock: LockFile, image: ImageIdentity | None) -> list[Drift]:
    locked = lock.image
    if image is None:
        return [
            Drift("image", f"image {locked.reference} is not on this Docker Engine", "pull it or rebuild it")
        ]
    if locked.digest is not None:
        if locked.digest in image.digests:
            return []
        now = ", ".join(image.digests) or f"a local build {image.image_id} (no registry digest)"
        return [
            Drift(
                "image",
                f"image {image.reference} is now {now}, the lock has registry digest {locked.digest}",
                f"pin the locked image with engine.image={_repository(locked.reference)}@{locked.digest}; "
                + _RELOCK,
            )
        ]
    if image.image_id != locked.image_id:
        return [
            Drift(
                "image",
                f"local image {image.reference} is now id {image.image_id}, the lock has id {locked.image_id}",
                f"rebuild or re-tag the locked build; {_RELOCK}",
            )
        ]
    return []
