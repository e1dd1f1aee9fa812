"""Checking each file against the Hub's tree: sha256 for LFS files, the git blob id for the others.

huggingface_hub checks only the byte count. Hashing after the download would add a full read of every file
(about 2.5 s for the 4.15 GB AWQ weights), so `FileWatch` hashes a file *while* huggingface_hub writes it,
following its `*.incomplete` file and then the blob it is renamed to (same inode). A watch starts over when
the file it follows is abandoned (a new attempt, a new name) or shrinks (a restart from byte 0); a mismatch is
confirmed by hashing the final blob again before the file is called corrupt.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from typing import Any

from orchestrator.weights.cache import RepoCache
from orchestrator.weights.remote import RemoteFile

__all__ = ["FileWatch", "digest_of"]

_READ = 8 << 20


def _new_hasher(file: RemoteFile) -> Any:
    if file.sha256:
        return hashlib.sha256()
    hasher = hashlib.sha1()
    hasher.update(f"blob {file.size}\0".encode())
    return hasher


def _expected(file: RemoteFile) -> str:
    return file.sha256 or file.blob_id


def digest_of(path: os.PathLike[str] | str, file: RemoteFile) -> str:
    """The hash of the file at `path`, in the algorithm `file` is checked with."""
    hasher = _new_hasher(file)
    with open(path, "rb") as handle:
        while piece := handle.read(_READ):
            hasher.update(piece)
    return str(hasher.hexdigest())


class FileWatch:
    """Hashes one file as it arrives; `written` is the bytes on disk so far, `matches` the verdict at the end."""

    def __init__(self, cache: RepoCache, commit: str, file: RemoteFile, *, hashing: bool = True) -> None:
        self.cache, self.commit, self.file = cache, commit, file
        self.hashing = hashing
        """False (`pull --no-verify`): only follow the size, and check only the size at the end."""
        self.written = 0
        self.matches: bool | None = None
        self._handle: Any = None
        self._inode = -1
        self._offset = 0
        self._hasher = _new_hasher(file)
        self._buffer = bytearray(_READ)  # one buffer, reused: no allocation per piece read

    def _restart(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle, self._inode, self._offset = None, -1, 0
        self._hasher = _new_hasher(self.file)

    def _open(self) -> bool:
        blob = self.cache.blob(self.file)
        candidates = [blob, *reversed(self.cache.incompletes(self.file))]
        for path in candidates:
            with contextlib.suppress(OSError):
                self._handle = open(path, "rb", buffering=0)  # noqa: SIM115 (kept open across steps)
                self._inode = os.fstat(self._handle.fileno()).st_ino
                return True
        return False

    def step(self, budget: int = 64 << 20) -> int:
        """Hash up to `budget` new bytes; returns how many were hashed."""
        if self.matches is not None:
            return 0
        if not self.hashing:
            for path in (self.cache.blob(self.file), *reversed(self.cache.incompletes(self.file))):
                with contextlib.suppress(OSError):
                    self.written = path.stat().st_size
                    return 0
            return 0
        if self._handle is None and not self._open():
            return 0
        stat = os.fstat(self._handle.fileno())
        if stat.st_nlink == 0 or stat.st_size < self._offset:
            self._restart()
            return 0
        self.written = stat.st_size
        done = 0
        view = memoryview(self._buffer)
        while done < budget:
            count = self._handle.readinto(view[: min(_READ, budget - done)])
            if not count:
                break
            self._hasher.update(view[:count])
            done += count
        self._offset += done
        return done

    def finish(self, *, reread: bool = False) -> bool:
        """Called once huggingface_hub is done: hash the rest of the final blob and give the verdict.

        `reread`: hash the final blob from its first byte (a download restarted from byte 0 may have rewritten
        bytes this watch had already hashed).
        """
        if self.matches is not None:
            return self.matches
        blob = self.cache.blob(self.file)
        if not self.hashing:
            try:
                self.matches = blob.stat().st_size == self.file.size
            except OSError:
                self.matches = False
            return self.matches
        if reread:
            self.close()
            try:
                self.matches = digest_of(blob, self.file) == _expected(self.file)
            except OSError:
                self.matches = False
            return self.matches
        try:
            inode = blob.stat().st_ino
        except OSError:
            self._restart()
            self.matches = False
            return False
        if inode != self._inode:
            self._restart()
        while self.step():
            pass
        if self._handle is None:
            self.matches = False
            return False
        self._handle.close()
        self._handle = None
        matches = self._hasher.hexdigest() == _expected(self.file) and self._offset == self.file.size
        if not matches:  # what was followed may have been rewritten: the final bytes decide
            matches = digest_of(blob, self.file) == _expected(self.file)
        self.matches = matches
        return matches

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
