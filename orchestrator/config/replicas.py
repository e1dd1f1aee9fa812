"""How many replicas `host.replicas` asks for, and which host ports they and the balancer take: pure rules.

Validation (what can be checked from the settings alone) and the launch plan (which also knows the GPU count
the Docker Engine reports) both ask here, so they agree. `auto` means one replica per selected GPU: known from
a GPU list (`host.gpus=0,1,2`), known for `all` only once the GPU count is, unknown otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.config.settings import HostSettings

__all__ = ["ReplicaCount", "ReplicaPorts", "replica_count", "replica_ports"]


@dataclass(frozen=True)
class ReplicaCount:
    """The replica count, and a note for the user when it had to be guessed (`auto` with an unknown count)."""

    count: int
    note: str | None = None


def replica_count(host: HostSettings, gpu_count: int | None = None) -> ReplicaCount:
    """`host.replicas` as a number; `gpu_count` is what the engine reports for `gpus=all` (None: unknown)."""
    if host.replicas != "auto":
        return ReplicaCount(int(host.replicas))
    selection = host.gpu_selection
    if selection.count is not None and selection.kind == "ids":
        return ReplicaCount(selection.count)
    if selection.kind == "all" and gpu_count:
        return ReplicaCount(gpu_count)
    return ReplicaCount(
        1,
        "host.replicas=auto but the number of GPUs is unknown here (host.gpus=all and the Docker Engine does "
        "not say how many it has): starting 1 replica. List the GPUs (--gpus 0,1,2) or give a number "
        "(--replicas 3).",
    )


@dataclass(frozen=True)
class ReplicaPorts:
    """Host ports: the balancer's endpoint, one per replica (in order) and the balancer's metrics."""

    endpoint: int
    replicas: tuple[int, ...]
    metrics: int

    def all(self) -> tuple[int, ...]:
        return (self.endpoint, *self.replicas, self.metrics)


def replica_ports(host: HostSettings, count: int) -> ReplicaPorts:
    """Replica i on `replica_port` + i - 1 (default `port` + i); the metrics port after the last replica's."""
    first = host.replica_port if host.replica_port is not None else host.port + 1
    replicas = tuple(first + i for i in range(count))
    metrics = host.balancer_metrics_port if host.balancer_metrics_port is not None else replicas[-1] + 1
    return ReplicaPorts(host.port, replicas, metrics)
