"""The Hugging Face cache layout on disk, read without huggingface_hub and without the network.

Both sides of a deployment read the same folder: the orchestrator on the host (`up --offline`, the lock file) and
the engine in its container (the emulator copies what TGI does). One reader keeps them agreeing. The layout
(huggingface_hub 2.x writes it; TGI's 0.30 Python side and its Rust `hf-hub` read it):

    <hub>/models--<org>--<name>/refs/<revision>        the commit a branch or tag resolved to (no newline)
    <hub>/models--<org>--<name>/snapshots/<commit>/<path>  relative symlink to ../../blobs/<etag>
    <hub>/models--<org>--<name>/trees/<commit>.json    the repo's file list at that commit (2.x only)

`<hub>` is `$HF_HOME/hub` (TGI images: `HF_HOME=/data`). Reads, and the one write both the pull and an offline
start need: a ref (`write_ref`).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "COMMIT_RE",
    "CachedFile",
    "Snapshot",
    "hub_dir",
    "is_commit",
    "missing_patterns",
    "read_tree",
    "repo_dir",
    "resolve_commit",
    "snapshot",
    "write_ref",
]

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
DEFAULT_REVISION = "main"


def is_commit(revision: str | None) -> bool:
    """Whether `revision` is a full commit hash (needs no `refs/` lookup)."""
    return bool(revision) and COMMIT_RE.match(revision or "") is not None


def hub_dir(hf_home: str | os.PathLike[str]) -> Path:
    """The hub cache inside an `HF_HOME` (the folder a deployment mounts at the engine's data dir)."""
    return Path(hf_home) / "hub"


def repo_dir(hub: Path, repo_id: str) -> Path:
    """`models--org--name`, as huggingface_hub names a model repository's folder."""
    return hub / ("models--" + repo_id.replace("/", "--"))


def resolve_commit(repo: Path, revision: str | None) -> str | None:
    """The commit `revision` means in this cache: itself if a commit, else `refs/<revision>`; None if unknown."""
    name = revision or DEFAULT_REVISION
    if is_commit(name):
        return name
    try:
        text = (repo / "refs" / name).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if is_commit(text) else None


@dataclass(frozen=True)
class CachedFile:
    """One file of a repository at a commit, as its tree listing describes it."""

    path: str
    size: int
    blob_id: str
    """git-sha1 of the content (the Hub's `oid`)."""
    lfs_sha256: str | None
    """sha256 of the content for LFS files (the Hub's `lfs.oid`), else None."""


def read_tree(repo: Path, commit: str) -> dict[str, CachedFile] | None:
    """`trees/<commit>.json` (written by huggingface_hub 2.x before it downloads); None when absent or unreadable."""
    try:
        data = json.loads((repo / "trees" / f"{commit}.json").read_text())
        files = data["files"]
        return {
            path: CachedFile(path, int(entry["size"]), str(entry["blob_id"]), entry.get("lfs_sha256"))
            for path, entry in sorted(files.items())
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Snapshot:
    """What the cache holds of one commit: its folder and the files present in it (relative `/` paths)."""

    repo: Path
    commit: str
    path: Path
    present: frozenset[str]

    def missing(self, expected: list[str]) -> list[str]:
        """The names of `expected` that are not in the snapshot, sorted."""
        return sorted(name for name in expected if name not in self.present)

    def file(self, name: str) -> Path:
        return self.path / name


def snapshot(repo: Path, commit: str) -> Snapshot | None:
    """The snapshot folder of `commit` with every file that resolves (a dangling symlink does not count)."""
    folder = repo / "snapshots" / commit
    if not folder.is_dir():
        return None
    present: set[str] = set()
    for root, _dirs, files in os.walk(folder):
        for name in files:
            full = Path(root) / name
            if full.is_file():  # follows the symlink: a link to a missing blob is not a file
                present.add(full.relative_to(folder).as_posix())
    return Snapshot(repo, commit, folder, frozenset(present))


def missing_patterns(present: frozenset[str] | set[str], patterns: tuple[str, ...]) -> list[str]:
    """The glob `patterns` (top-level, `fnmatch`) that no present file matches: what an engine lacks offline."""
    top = [name for name in present if "/" not in name]
    return [pattern for pattern in patterns if not fnmatch.filter(top, pattern)]


def write_ref(repo: Path, revision: str, commit: str) -> None:
    """`refs/<revision>` = `commit`, atomically (a temp file beside it, renamed over it): a reader sees the old
    ref or the new one, never half. Nothing is written when the ref already says so."""
    target = repo / "refs" / revision
    with contextlib.suppress(OSError):
        if target.read_text().strip() == commit:
            return
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".ref-")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(commit)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
