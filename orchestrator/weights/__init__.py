"""Model weights on the host: `pull` downloads a snapshot with huggingface_hub into the cache the deployment
mounts (docs/weights.md), shows its progress, verifies every file against the Hub's tree and explains failures.

Layer: between `deploy` (which may pull before `up`) and `runtime`; it reads settings and the launch plan (to
find the cache the engine reads) and never touches Docker. huggingface_hub is imported only inside calls.
"""

from __future__ import annotations

from orchestrator.weights.errors import (
    DiskFullError,
    GatedModelError,
    HubUnreachableError,
    PullError,
    RemoteNotFoundError,
    TokenRejectedError,
    VerificationError,
)
from orchestrator.weights.events import PullEvent, PullPlan, PullResult
from orchestrator.weights.location import host_hub_cache
from orchestrator.weights.pull import PullInterrupted, plan_pull, pull
from orchestrator.weights.remote import RemoteFile, RemoteSnapshot

__all__ = [
    "DiskFullError",
    "GatedModelError",
    "HubUnreachableError",
    "PullError",
    "PullEvent",
    "PullInterrupted",
    "PullPlan",
    "PullResult",
    "RemoteFile",
    "RemoteNotFoundError",
    "RemoteSnapshot",
    "TokenRejectedError",
    "VerificationError",
    "host_hub_cache",
    "plan_pull",
    "pull",
]
