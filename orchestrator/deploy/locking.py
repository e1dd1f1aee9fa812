"""`orchestrator lock`'s library: pull (unless offline), then pin what `up` would serve in `orchestrator.lock`.

The lock records the commit the requested revision resolved to with every file's size and sha256 (the whole
snapshot is read once), the engine and its version, the image with its registry digest (or local id), and the
settings hash. Written atomically; rewriting an unchanged lock leaves the file untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.deploy.weights_step import WeightsPolicy, prepare_weights
from orchestrator.lock.lockfile import LOCK_FILE, LockFile, write_lock
from orchestrator.lock.pinning import make_lock

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.runtime.containers import DockerRuntime

__all__ = ["LockResult", "lock"]


@dataclass(frozen=True)
class LockResult:
    lock: LockFile
    path: Path
    changed: bool
    """False when the file already held exactly this lock."""


def lock(
    settings: Settings,
    *,
    path: Path = LOCK_FILE,
    offline: bool = False,
    runtime: DockerRuntime | None = None,
    say: Callable[[str], None] = lambda text: None,
    policy: WeightsPolicy | None = None,
) -> LockResult:
    """Write (or refresh) the lock of `settings` at `path`; `offline` reads the cache only (no Hub).

    Raises `CacheIncompleteError` when the cache cannot serve the revision, `RuntimeUnavailableError` without a
    Docker Engine. The image is pulled when it is missing, so its digest can be recorded.
    """
    policy = policy or WeightsPolicy(mode="offline" if offline else "pull")
    weights, _ = prepare_weights(settings, policy, say)
    assert weights is not None  # unlocked pull/offline modes raise instead of returning no weights
    if runtime is None:
        from orchestrator.runtime.containers import connect

        runtime = connect()
    image = settings.engine.image
    identity = runtime.image_identity(image)
    if identity is None:
        say(f"pulling image {image} to record its digest")
        runtime.pull(image)
        identity = runtime.image_identity(image)
    assert identity is not None  # pull() raises when the image is still missing
    say(f"hashing {len(weights.snapshot.present)} files of commit {weights.commit}")
    pinned = make_lock(settings, weights, identity)
    return LockResult(pinned, path, write_lock(pinned, path))
