"""The Hub's JSON answers, as huggingface_hub 2.4 reads them: model info (`/api/models/...`) and the tree.

Model info carries `id`, `sha`, `gated`, `private` and `siblings` (with `size`, `blobId` and `lfs` when asked
with `?blobs=true`); tree entries carry `type`, `path`, `oid`, `size` and, for LFS files, `lfs: {oid (the
sha256), size, pointerSize}`. No `xetHash`: the stand-in speaks plain HTTP only.
"""

from __future__ import annotations

import hashlib
from typing import Any

from orchestrator.emulator.hub.repo import HubRepo, RepoFile

__all__ = ["HubError", "model_info", "tree_entries"]


class HubError(Exception):
    """An error answer: status, `X-Error-Code` (None for a bare status), message, and `X-Repo-Commit`."""

    def __init__(self, status: int, code: str | None, message: str, commit: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.commit = status, code, message, commit


_CREATED = "2023-12-11T18:00:00.000Z"


def _sibling(file: RepoFile, blobs: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"rfilename": file.path}
    if blobs:
        entry.update(size=file.size, blobId=file.oid)
        if file.lfs:
            entry["lfs"] = {"sha256": file.sha256, "size": file.size, "pointerSize": len(file.pointer)}
    return entry


def model_info(repo: HubRepo, sha: str, *, blobs: bool = False) -> dict[str, Any]:
    files = repo.commits[sha]
    org = repo.repo_id.partition("/")[0]
    return {
        "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
        "id": repo.repo_id,
        "modelId": repo.repo_id,
        "author": org,
        "sha": sha,
        "lastModified": _CREATED,
        "createdAt": _CREATED,
        "private": repo.private,
        "disabled": False,
        "gated": repo.gated or False,
        "downloads": 0,
        "likes": 0,
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": ["transformers", "safetensors", "mistral", "text-generation", "4-bit", "awq"],
        "siblings": [_sibling(files[path], blobs) for path in sorted(files)],
        "spaces": [],
        "usedStorage": sum(f.size for f in files.values()),
    }


def _file_entry(file: RepoFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": file.oid, "size": file.size, "path": file.path}
    if file.lfs:
        entry["lfs"] = {"oid": file.sha256, "size": file.size, "pointerSize": len(file.pointer)}
    return entry


def _directories(paths: list[str]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        parts = path.split("/")[:-1]
        found.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return found


def tree_entries(repo: HubRepo, sha: str, under: str, *, recursive: bool) -> list[dict[str, Any]] | None:
    """The tree below `under` ('' for the root), sorted; None when `under` is neither a folder nor a file."""
    files = repo.commits[sha]
    prefix = f"{under}/" if under else ""
    entries: list[dict[str, Any]] = []
    for folder in sorted(_directories(list(files))):
        if folder.startswith(prefix) and (recursive or "/" not in folder[len(prefix) :]):
            oid = hashlib.sha1(f"tree {sha} {folder}".encode()).hexdigest()
            entries.append({"type": "directory", "oid": oid, "size": 0, "path": folder})
    entries += [
        _file_entry(files[path])
        for path in sorted(files)
        if path.startswith(prefix) and (recursive or "/" not in path[len(prefix) :])
    ]
    if not entries and under in files:
        return [_file_entry(files[under])]
    if not entries and under:
        return None
    return sorted(entries, key=lambda e: (e["type"] != "directory", e["path"]))
