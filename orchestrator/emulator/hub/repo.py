"""What the Hub stand-in serves: repositories, their commits, and each file's bytes and hashes.

A file's content is bytes in memory, a file on disk, or a generated pattern of any size (for benchmarks that
need gigabytes without keeping them). Hashes follow the Hub: regular files are named by their git blob id
(`sha1(b"blob <len>\\0" + content)`), LFS files by their sha256, with a git blob id of the LFS pointer beside it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

__all__ = ["Generated", "HubRepo", "RepoFile", "lfs_pointer"]

_BLOCK = 1 << 20


@dataclass(frozen=True)
class Generated:
    """`size` bytes of a seeded 1 MiB random block repeated: gigabytes served without storing them."""

    size: int
    seed: int = 0

    @cached_property
    def block(self) -> bytes:
        return random.Random(self.seed).randbytes(min(_BLOCK, max(self.size, 1)))


Content = bytes | Path | Generated


def _size_of(content: Content) -> int:
    if isinstance(content, bytes):
        return len(content)
    if isinstance(content, Path):
        return content.stat().st_size
    return content.size


def read_range(content: Content, start: int, end: int, chunk: int = _BLOCK) -> Iterator[bytes | memoryview]:
    """The bytes [start, end) of `content`, in pieces of at most `chunk` bytes."""
    if isinstance(content, bytes):
        for offset in range(start, end, chunk):
            yield content[offset : min(end, offset + chunk)]
        return
    if isinstance(content, Path):
        with content.open("rb") as handle:
            handle.seek(start)
            left = end - start
            while left > 0:
                piece = handle.read(min(chunk, left))
                if not piece:
                    return
                left -= len(piece)
                yield piece
        return
    block = memoryview(content.block)
    offset = start
    while offset < end:
        inner = offset % len(block)
        view = block[inner : inner + min(end - offset, len(block) - inner, chunk)]
        offset += len(view)
        yield view


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file git stores instead of an LFS file's content."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def git_blob_id(data_size: int, pieces: Iterator[bytes | memoryview]) -> str:
    digest = hashlib.sha1(f"blob {data_size}\0".encode())
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


@dataclass(frozen=True)
class RepoFile:
    """One file of a commit. `lfs` files are served through the CDN redirect, as the Hub serves LFS files.

    `declared_size` / `declared_sha256` make the tree claim another size or hash than the content has (a
    tree promising 100 TB for a disk-full test, a hash that can never match).
    """

    path: str
    content: Content
    lfs: bool = False
    declared_size: int | None = None
    declared_sha256: str | None = None

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else _size_of(self.content)

    @property
    def actual_size(self) -> int:
        return _size_of(self.content)

    @cached_property
    def sha256(self) -> str:
        if self.declared_sha256 is not None:
            return self.declared_sha256
        digest = hashlib.sha256()
        for piece in read_range(self.content, 0, self.actual_size):
            digest.update(piece)
        return digest.hexdigest()

    @cached_property
    def pointer(self) -> bytes:
        return lfs_pointer(self.sha256, self.size)

    @cached_property
    def oid(self) -> str:
        """The git blob id: of the content for regular files, of the pointer for LFS files."""
        if self.lfs:
            return git_blob_id(len(self.pointer), iter([self.pointer]))
        return git_blob_id(self.actual_size, read_range(self.content, 0, self.actual_size))

    @property
    def etag(self) -> str:
        """What the Hub names the blob by (ETag / X-Linked-Etag): sha256 for LFS, the git blob id otherwise."""
        return self.sha256 if self.lfs else self.oid


def _commit_sha(files: Mapping[str, RepoFile], parent: str | None, message: str) -> str:
    digest = hashlib.sha1(f"{parent or ''}\n{message}\n".encode())
    for path in sorted(files):
        digest.update(f"{path} {files[path].oid}\n".encode())
    return digest.hexdigest()


@dataclass
class HubRepo:
    """A model repository: commits (sha -> files), branches and tags (name -> sha), and who may read it.

    `gated`: None (open), "auto" or "manual" (the Hub's values); only `granted` tokens may download then.
    `private`: only `granted` tokens see it at all (anyone else gets RepoNotFound, as on the Hub).
    """

    repo_id: str
    commits: dict[str, dict[str, RepoFile]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    gated: str | None = None
    private: bool = False
    granted: set[str] = field(default_factory=set)

    def commit(self, files: list[RepoFile], *, branch: str = "main", message: str = "Upload") -> str:
        """Add a commit holding exactly `files`, move `branch` to it, and return its sha."""
        by_path = {f.path: f for f in files}
        sha = _commit_sha(by_path, self.refs.get(branch), message)
        self.commits[sha] = by_path
        self.refs[branch] = sha
        self.messages[sha] = message
        return sha

    def resolve(self, revision: str) -> str | None:
        """The commit sha a revision (branch, tag or full sha) names; None when it names none."""
        if revision in self.commits:
            return revision
        return self.refs.get(revision)

    def files(self, revision: str = "main") -> dict[str, RepoFile]:
        sha = self.resolve(revision)
        if sha is None:
            raise KeyError(revision)
        return self.commits[sha]
