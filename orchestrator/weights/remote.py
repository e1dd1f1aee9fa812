"""What the Hub says a snapshot holds: the commit a revision resolves to, and each file's size and hashes.

Two calls through huggingface_hub (`model_info` for the commit, `list_repo_tree` for the files), both with a
deadline: the library waits forever on them by default. The tree gives exact sizes without one HEAD per file,
so the dry run's byte count is exact, and its hashes are what `verify` checks against.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["ListingTimeout", "RemoteFile", "RemoteSnapshot", "list_snapshot", "listing_timeout"]

T = TypeVar("T")


def listing_timeout() -> float:
    """Seconds for each listing call: huggingface_hub's own metadata timeout, `HF_HUB_ETAG_TIMEOUT` (10 s by
    default), which it applies to a file's HEAD but not to these two calls (they wait forever there)."""
    from huggingface_hub import constants

    return float(constants.HF_HUB_ETAG_TIMEOUT)


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    blob_id: str
    """The git blob id (of the LFS pointer, for LFS files)."""
    sha256: str | None
    """The content's sha256 for LFS files; None for files stored in git."""

    @property
    def etag(self) -> str:
        """The name huggingface_hub gives the blob in the cache (`blobs/<etag>`)."""
        return self.sha256 or self.blob_id

    @property
    def algorithm(self) -> str:
        return "sha256" if self.sha256 else "git-sha1"


@dataclass(frozen=True)
class RemoteSnapshot:
    repo_id: str
    revision: str
    commit: str
    files: tuple[RemoteFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def list_snapshot(
    repo_id: str, revision: str, *, endpoint: str | None, token: str | None, timeout: float | None = None
) -> RemoteSnapshot:
    """The snapshot `revision` names now; huggingface_hub's errors pass through (see `weights.errors`)."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    api = HfApi(endpoint=endpoint, token=token)
    timeout = listing_timeout() if timeout is None else timeout

    def listing() -> RemoteSnapshot:
        info = api.model_info(repo_id, revision=revision, timeout=timeout)
        assert info.sha is not None, "the Hub answered model info without a commit sha"
        files = []
        for entry in api.list_repo_tree(repo_id, revision=info.sha, recursive=True):
            if isinstance(entry, RepoFile):
                sha256 = entry.lfs.sha256 if entry.lfs else None
                files.append(RemoteFile(entry.path, entry.size, entry.blob_id, sha256))
        return RemoteSnapshot(repo_id, revision, info.sha, tuple(sorted(files, key=lambda f: f.path)))

    return _within(listing, 2 * timeout)


class ListingTimeout(TimeoutError):
    """The Hub did not answer the listing calls in time (the tree call has no timeout of its own)."""


def _within(call: Callable[[], T], seconds: float) -> T:
    """`call()` on a daemon thread, given up after `seconds` (a stalled socket cannot be interrupted)."""
    box: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="hub-listing", daemon=True)
    thread.start()
    thread.join(seconds)
    if failure:
        raise failure[0]
    if not box:
        raise ListingTimeout(f"no answer from the Hub within {seconds:.0f}s")
    return box[0]
