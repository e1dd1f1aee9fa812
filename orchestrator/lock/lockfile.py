"""`orchestrator.lock`: what a deployment ran, pinned, as sorted JSON; read, written atomically, compared.

Why JSON (sorted keys, two-space indent, one file entry per block, files sorted by path) rather than TOML: the
standard library reads *and* writes it exactly (TOML has no writer in 3.11 and no null, and some settings are
null on purpose), and with sorted keys and a fixed indent a refresh that changes one hash changes one line in
`git diff`. The format is documented in docs/lock.md; `format` names its version.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from orchestrator.lock.errors import LockFileError

__all__ = [
    "FORMAT",
    "LOCK_FILE",
    "LockFile",
    "LockedEngine",
    "LockedFile",
    "LockedImage",
    "LockedModel",
    "LockedSettings",
    "parse_lock",
    "read_lock",
    "render_lock",
    "write_lock",
]

FORMAT = "orchestrator.lock/1"
LOCK_FILE = Path("orchestrator.lock")
"""Beside `orchestrator.toml`, in the directory the commands run from (commit it with the project)."""


@dataclass(frozen=True)
class LockedFile:
    """One file of the snapshot: its path in the repository, size in bytes and sha256 of its content."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class LockedModel:
    repo: str
    requested_revision: str
    """What the settings asked for (`model.revision`, `main` when unset)."""
    commit: str
    """The commit it resolved to: what `up --locked` serves, whatever the branch points to later."""
    files: tuple[LockedFile, ...]


@dataclass(frozen=True)
class LockedEngine:
    kind: str
    version: str


@dataclass(frozen=True)
class LockedImage:
    reference: str
    digest: str | None
    """The registry digest (`sha256:...`) of a pulled image; None for a local build."""
    image_id: str
    """The local image id; what identifies a local build (it has no registry digest)."""


@dataclass(frozen=True)
class LockedSettings:
    hash: str
    values: dict[str, Any]
    """The container-shaping settings that differ from the defaults (secrets only as `***`), so a drift can
    say which setting changed, not just that a hash did."""


@dataclass(frozen=True)
class LockFile:
    model: LockedModel
    engine: LockedEngine
    image: LockedImage
    settings: LockedSettings


def render_lock(lock: LockFile) -> str:
    """The file's text: sorted keys, files sorted by path, a final newline (stable for equal locks)."""
    data: dict[str, Any] = asdict(lock)
    data["model"]["files"] = sorted(data["model"]["files"], key=lambda entry: entry["path"])
    data["format"] = FORMAT
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def parse_lock(text: str, source: str = str(LOCK_FILE)) -> LockFile:
    """The lock in `text`; `LockFileError` naming what is wrong (and where) otherwise."""
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise LockFileError(
                f"{source} has format {data.get('format')!r}, this orchestrator reads {FORMAT!r}",
                fix="rewrite it with `orchestrator lock`",
            )
        model = data["model"]
        files = tuple(LockedFile(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in model["files"])
        return LockFile(
            model=LockedModel(
                str(model["repo"]), str(model["requested_revision"]), str(model["commit"]), files
            ),
            engine=LockedEngine(str(data["engine"]["kind"]), str(data["engine"]["version"])),
            image=LockedImage(
                str(data["image"]["reference"]), data["image"]["digest"], str(data["image"]["image_id"])
            ),
            settings=LockedSettings(str(data["settings"]["hash"]), dict(data["settings"]["values"])),
        )
    except LockFileError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LockFileError(
            f"{source} is not a readable lock file ({type(exc).__name__}: {exc})",
            fix="rewrite it with `orchestrator lock` (it is generated; do not edit it by hand)",
        ) from None


def read_lock(path: Path = LOCK_FILE) -> LockFile:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockFileError(
            f"no lock file at {path}",
            fix="write one with `orchestrator lock` (or pass --lock-file PATH)",
        ) from None
    except OSError as exc:
        raise LockFileError(
            f"cannot read {path}: {exc.strerror or exc}", fix="check its permissions"
        ) from None
    return parse_lock(text, str(path))


def write_lock(lock: LockFile, path: Path = LOCK_FILE) -> bool:
    """Write `lock` to `path` atomically (a temp file in the same folder, fsynced, then renamed over it), so a
    crash leaves the old file or the new one, never half of one. Returns False when the file already said so."""
    text = render_lock(lock)
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == text:
            return False
    folder = path.parent if str(path.parent) else Path(".")
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return True
