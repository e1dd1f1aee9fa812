"""What `pull` reports while it works: a plan first, then per-file and total progress, then the verdicts.

The CLI renders these three ways (a live display, plain lines, JSON lines); `to_json()` is the `--json`
event. No event holds the token or a URL that could carry one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.weights.remote import RemoteSnapshot

__all__ = ["PullEvent", "PullPlan", "PullResult"]


@dataclass(frozen=True)
class PullPlan:
    """The dry run: what the revision holds, what is already cached, the exact bytes to fetch, the free disk."""

    snapshot: RemoteSnapshot
    hub_dir: Path
    cached: frozenset[str]
    free_bytes: int
    endpoint: str

    @property
    def download_bytes(self) -> int:
        return sum(f.size for f in self.snapshot.files if f.path not in self.cached)

    @property
    def snapshot_dir(self) -> Path:
        folder = "models--" + self.snapshot.repo_id.replace("/", "--")
        return self.hub_dir / folder / "snapshots" / self.snapshot.commit

    def to_json(self) -> dict[str, Any]:
        snap = self.snapshot
        return {
            "repo": snap.repo_id,
            "revision": snap.revision,
            "commit": snap.commit,
            "endpoint": self.endpoint,
            "cache_dir": str(self.hub_dir),
            "files": [
                {"path": f.path, "size": f.size, "cached": f.path in self.cached, "hash": f.algorithm}
                for f in snap.files
            ],
            "total_bytes": snap.total_bytes,
            "download_bytes": self.download_bytes,
            "free_bytes": self.free_bytes,
        }


@dataclass(frozen=True)
class PullEvent:
    """kind: `plan`, `file` (state `downloading`, `done` or `cached`), `progress`, `retry`, `verified`."""

    kind: str
    elapsed: float
    path: str | None = None
    bytes: int = 0
    total: int = 0
    rate: float | None = None
    """Bytes per second over the last seconds (progress events)."""
    eta: float | None = None
    state: str | None = None
    message: str = ""
    plan: PullPlan | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.kind, "elapsed": round(self.elapsed, 3)}
        if self.plan is not None:
            data.update(self.plan.to_json())
            return data
        if self.path is not None:
            data["path"] = self.path
        if self.kind in {"file", "progress"}:
            data.update(bytes=self.bytes, total=self.total)
        if self.kind == "progress":
            data.update(
                rate=None if self.rate is None else round(self.rate), eta=self.eta and round(self.eta, 1)
            )
        if self.state:
            data["state"] = self.state
        if self.message:
            data["message"] = self.message
        return data


@dataclass(frozen=True)
class PullResult:
    plan: PullPlan
    fetched: tuple[str, ...] = ()
    fetched_bytes: int = 0
    seconds: float = 0.0
    verified: int = 0
    dry_run: bool = False
    retries: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.plan.snapshot.repo_id,
            "revision": self.plan.snapshot.revision,
            "commit": self.plan.snapshot.commit,
            "snapshot": str(self.plan.snapshot_dir),
            "dry_run": self.dry_run,
            "fetched": list(self.fetched),
            "fetched_bytes": self.fetched_bytes,
            "verified": self.verified,
            "seconds": round(self.seconds, 3),
            "retries": len(self.retries),
        }
