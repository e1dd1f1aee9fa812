"""Where the orchestrator keeps files on the host. Docker-free on purpose: `up --dry-run` (which must not import
the Docker SDK) and the runtime (which writes the files) both need the same answer."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["secrets_dir"]


def secrets_dir(name: str) -> Path:
    """Host directory holding deployment `name`'s secret files: `$XDG_CACHE_HOME` (else `~/.cache`)
    `/tgi-orchestrator/secrets/<name>`; `up` writes it (0700; files 0600) and `down` removes it."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "tgi-orchestrator" / "secrets" / name
