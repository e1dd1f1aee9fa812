"""The deployment's weights cache on the host, read offline: which commit is there, whether the engine can start
from it without the Hub, and the content hashes a lock file pins.

The host folder `host.cache_dir` is mounted at the engine's data dir; its hub cache is `<cache_dir>/hub` for TGI
2.3+ (`HF_HOME=/data`; `orchestrator.weights.location` works it out from the plan). Nothing here contacts the Hub;
`orchestrator.formats.hf_cache` reads the layout.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.formats.hf_cache import (
    Snapshot,
    is_commit,
    read_tree,
    repo_dir,
    resolve_commit,
    snapshot,
    write_ref,
)
from orchestrator.launch.plan import engine_launch
from orchestrator.lock.errors import CacheIncompleteError
from orchestrator.lock.lockfile import LockedFile
from orchestrator.weights.location import host_hub_cache

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings

__all__ = [
    "CachedWeights",
    "cached_commit",
    "find_cached",
    "hash_files",
    "host_hub_dir",
    "requested_revision",
    "write_commit_ref",
]

_CHUNK = 8 * 1024 * 1024


def requested_revision(settings: Settings) -> str:
    """`model.revision`, or `main` (the Hub's default branch, what the engine uses when it is unset)."""
    return settings.model.revision or "main"


def host_hub_dir(settings: Settings) -> Path:
    """The hub cache on the host that the engine reads (`orchestrator.weights.location`: asked of the plan)."""
    return host_hub_cache(settings)


@dataclass(frozen=True)
class CachedWeights:
    """A commit of the model that the cache holds completely enough for the engine to start offline."""

    repo_id: str
    requested: str
    commit: str
    snapshot: Snapshot


def _pull_fix(settings: Settings, revision: str) -> str:
    flag = f" --revision {revision}" if revision != "main" else ""
    return (
        f"run `orchestrator pull{flag}` while the Hub is reachable (it fills {host_hub_dir(settings)}), "
        "or drop --offline so `up` pulls first"
    )


def _needed(present: frozenset[str], tree: dict[str, object] | None, patterns: tuple[str, ...]) -> list[str]:
    """Missing names for each pattern the engine reads: the tree's matching files when the tree is known
    (exact names), else the pattern itself when nothing matches it."""
    top = sorted(name for name in present if "/" not in name)
    missing: list[str] = []
    for pattern in patterns:
        listed = fnmatch.filter([name for name in (tree or {}) if "/" not in name], pattern)
        if listed:
            missing += [name for name in listed if name not in present]
        elif not fnmatch.filter(top, pattern):
            missing.append(pattern)
    return missing


def find_cached(
    settings: Settings, *, commit: str | None = None, expected: tuple[str, ...] = ()
) -> CachedWeights:
    """The cached snapshot the engine would serve (of `commit`, else of the requested revision), checked for
    every file the engine reads offline and every `expected` path; `CacheIncompleteError` names what is missing."""
    launch = engine_launch(settings)
    repo_id, requested = settings.model.id, requested_revision(settings)
    hub = host_hub_dir(settings)
    repo = repo_dir(hub, repo_id)
    wanted = commit or requested
    resolved = resolve_commit(repo, wanted)
    if resolved is None:
        where = f"{repo}/refs/{wanted}" if not is_commit(wanted) else f"{repo}/snapshots/{wanted}"
        raise CacheIncompleteError(
            f"the cache has no {repo_id} at revision {wanted!r} ({where} is missing)",
            missing=list(expected) or list(launch.offline_files),
            fix=_pull_fix(settings, wanted),
        )
    found = snapshot(repo, resolved)
    present = found.present if found is not None else frozenset()
    tree = read_tree(repo, resolved)
    missing = _needed(present, dict(tree) if tree else None, launch.offline_files)
    missing += [name for name in expected if name not in present and name not in missing]
    if found is None or missing:
        names = ", ".join(missing) if missing else "every file"
        raise CacheIncompleteError(
            f"the cache lacks files of {repo_id} at commit {resolved} that the engine needs offline: {names} "
            f"(looked in {repo}/snapshots/{resolved})",
            missing=missing,
            fix=_pull_fix(settings, requested if commit is None else resolved),
        )
    return CachedWeights(repo_id, requested, resolved, found)


def cached_commit(settings: Settings, commit: str) -> tuple[CachedWeights | None, Path]:
    """The snapshot of `commit` as it is (unchecked; a lock says what it must hold), and where it was looked for."""
    repo = repo_dir(host_hub_dir(settings), settings.model.id)
    found = snapshot(repo, commit)
    weights = CachedWeights(settings.model.id, requested_revision(settings), commit, found) if found else None
    return weights, repo / "snapshots" / commit


def write_commit_ref(weights: CachedWeights) -> None:
    """`refs/<commit>` holding the commit itself, for engines whose cache lookup always reads `refs/<revision>`
    (TGI's Rust side: with `--revision <commit>` offline it finds nothing without it). Atomic, idempotent."""
    write_ref(weights.snapshot.repo, weights.commit, weights.commit)


def hash_files(found: Snapshot) -> tuple[LockedFile, ...]:
    """Size and sha256 of every file of the snapshot, read through its links (the blobs), sorted by path."""
    files = []
    for name in sorted(found.present):
        digest = hashlib.sha256()
        size = 0
        with open(found.file(name), "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        files.append(LockedFile(name, size, digest.hexdigest()))
    return tuple(files)
