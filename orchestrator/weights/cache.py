"""One repository's folder in the huggingface_hub cache (layout in docs/weights.md), as `pull` needs it.

huggingface_hub writes the files; this module only reads them, names them, removes a file that failed
verification, writes `refs/<revision>` once a snapshot is verified, and clears `*.incomplete` files that no
download holds any more (2.4 never reuses them: a new attempt starts from byte 0 under a new name).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from orchestrator.formats.hf_cache import write_ref
from orchestrator.weights.remote import RemoteFile

__all__ = ["RepoCache"]


@dataclass(frozen=True)
class RepoCache:
    hub_dir: Path
    repo_id: str

    @property
    def folder(self) -> Path:
        return self.hub_dir / ("models--" + self.repo_id.replace("/", "--"))

    def blob(self, file: RemoteFile) -> Path:
        return self.folder / "blobs" / file.etag

    def pointer(self, commit: str, file: RemoteFile) -> Path:
        return self.folder / "snapshots" / commit / file.path

    def snapshot(self, commit: str) -> Path:
        return self.folder / "snapshots" / commit

    def has(self, commit: str, file: RemoteFile) -> bool:
        """The file is in the snapshot: its link resolves to a blob of the right size."""
        try:
            return self.pointer(commit, file).stat().st_size == file.size
        except OSError:
            return False

    def incompletes(self, file: RemoteFile) -> list[Path]:
        """Partial downloads of this file's blob (`<etag>.<8 hex>.incomplete`), newest last."""
        found = list((self.folder / "blobs").glob(f"{file.etag}.*.incomplete"))
        return sorted(found, key=lambda p: p.stat().st_mtime if p.exists() else 0)

    def remove(self, commit: str, file: RemoteFile) -> None:
        """Take a file out of the snapshot: its link and its blob."""
        for path in (self.pointer(commit, file), self.blob(file)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def clear_orphans(self) -> int:
        """Remove `*.incomplete` blobs whose download lock nobody holds; returns the bytes freed."""
        from filelock import FileLock, Timeout

        freed = 0
        locks = self.hub_dir / ".locks" / self.folder.name
        for partial in (self.folder / "blobs").glob("*.incomplete"):
            etag = partial.name.split(".", 1)[0]
            lock = FileLock(str(locks / f"{etag}.lock"))
            try:
                with lock.acquire(timeout=0):
                    size = partial.stat().st_size
                    partial.unlink()
                    freed += size
            except (Timeout, FileNotFoundError):
                continue
        return freed

    def read_ref(self, revision: str) -> str | None:
        try:
            return (self.folder / "refs" / revision).read_text().strip() or None
        except OSError:
            return None

    def write_ref(self, revision: str, commit: str) -> None:
        """`refs/<revision>` = commit, atomically (written last: a snapshot without it is not offered)."""
        if revision != commit:
            write_ref(self.folder, revision, commit)

    def missing(self, commit: str) -> list[str] | None:
        """Files of the cached tree `trees/<commit>.json` absent from the snapshot; None without a tree."""
        try:
            tree = json.loads((self.folder / "trees" / f"{commit}.json").read_text())
        except (OSError, ValueError):
            return None
        files = tree.get("files", {})
        return sorted(
            path
            for path, entry in files.items()
            if not _sized(self.snapshot(commit) / path, int(entry.get("size", -1)))
        )


def _sized(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False
