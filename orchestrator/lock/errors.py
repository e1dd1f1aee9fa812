"""Errors of locked and offline starts, in the package's one tree (`orchestrator.errors.OrchestratorError`)."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.errors import OrchestratorError

__all__ = ["CacheIncompleteError", "Drift", "LockDriftError", "LockFileError"]

LOCK_DRIFT_EXIT = 9


class LockFileError(OrchestratorError):
    """The lock file is missing, unreadable or of another format (exit 2: a wrong option or file)."""

    exit_code = 2

    def __init__(self, message: str, *, fix: str) -> None:
        self.fix = fix
        super().__init__(f"{message}. Fix: {fix}")


@dataclass(frozen=True)
class Drift:
    """One way the deployment differs from its lock file."""

    kind: str
    """`cache`, `image`, `settings` or `engine`."""
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}. Fix: {self.fix}"


class LockDriftError(OrchestratorError):
    """`up --locked` found the cache, the image or the settings differing from `orchestrator.lock` (exit 9);
    nothing was started. `drifts` holds each difference, one per kind and file."""

    exit_code = LOCK_DRIFT_EXIT

    def __init__(self, drifts: list[Drift], lock_path: str) -> None:
        self.drifts = list(drifts)
        kinds = sorted({d.kind for d in drifts})
        lines = "\n".join(f"  - {d}" for d in drifts)
        super().__init__(
            f"refusing to start: the {', '.join(kinds)} differ{'s' if len(kinds) == 1 else ''} from "
            f"{lock_path}:\n{lines}"
        )


class CacheIncompleteError(OrchestratorError):
    """An offline start found the weights cache lacking files the engine needs (exit 3: the host is not
    ready); nothing was started and the Hub was not contacted."""

    exit_code = 3

    def __init__(self, message: str, *, missing: list[str], fix: str) -> None:
        self.missing = list(missing)
        self.fix = fix
        super().__init__(f"{message}. Fix: {fix}")
