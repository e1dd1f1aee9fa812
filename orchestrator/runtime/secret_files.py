"""The host files that carry a deployment's secrets into its container (written at create, removed at down).

Docker-free: the runtime turns the returned paths into read-only bind mounts. Writing is all-or-nothing: if any
file cannot be written, the deployment's whole secrets directory is removed and `RuntimeUnavailableError` names
the directory and the fix, so no secret is left on disk by a failed `up`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import RuntimeUnavailableError
from orchestrator.launch.paths import secrets_dir

if TYPE_CHECKING:
    from orchestrator.launch.plan import LaunchPlan

__all__ = ["remove_secret_files", "write_secret_files"]


def write_secret_files(plan: LaunchPlan) -> list[tuple[Path, str]]:
    """Write each of the plan's secrets to a 0600 file in a 0700 directory; (host path, container target) pairs."""
    if not plan.secret_files:
        return []
    directory = secrets_dir(plan.container_name)
    written: list[tuple[Path, str]] = []
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory.chmod(0o700)
        for secret in plan.secret_files:
            path = directory / secret.name
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(secret.value.get_secret_value())
            path.chmod(0o600)
            written.append((path, secret.target))
    except OSError as exc:
        remove_secret_files(plan.container_name)
        raise RuntimeUnavailableError(
            f"cannot write the secret files of {plan.container_name} to {directory}: "
            f"{exc.strerror or exc}. Fix: make that directory writable by you, or point XDG_CACHE_HOME at a "
            "writable directory (secret files live in $XDG_CACHE_HOME/tgi-orchestrator/secrets/<name>/)"
        ) from exc
    return written


def remove_secret_files(name: str) -> None:
    """Remove deployment `name`'s secrets directory (nothing there is not an error)."""
    shutil.rmtree(secrets_dir(name), ignore_errors=True)
