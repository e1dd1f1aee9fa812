"""A running replica set as the engine holds it (the balancer and its replicas, from their labels), compared
with a new `ReplicaSet`: the same (nothing to do), replaceable replica by replica (same balancer), or neither."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestrator.launch.labels import label
from orchestrator.launch.replicas import (
    BALANCER_HASH_LABEL,
    BALANCER_ROLE,
    REPLICA_LABEL,
    REPLICA_ROLE,
    ROLE_LABEL,
)
from orchestrator.launch.settings_label import SETTINGS_LABEL, changed_settings

if TYPE_CHECKING:
    from orchestrator.launch.replicas import ReplicaSet
    from orchestrator.runtime.containers import ContainerInfo

__all__ = ["SetView", "differs", "view_of"]

HASH = label("settings-hash")


@dataclass(frozen=True)
class SetView:
    """Our containers of one deployment name: `balancer` (None for a single-container deployment)."""

    containers: tuple[ContainerInfo, ...]
    balancer: ContainerInfo | None
    replicas: dict[int, ContainerInfo]

    @property
    def running(self) -> bool:
        return any(c.running for c in self.containers)

    def balancer_id(self) -> str | None:
        return self.balancer.id if self.balancer is not None else None

    def _same_balancer(self, plan: ReplicaSet) -> bool:
        balancer = self.balancer
        return (
            balancer is not None
            and balancer.running
            and balancer.labels.get(BALANCER_HASH_LABEL) == plan.balancer.labels[BALANCER_HASH_LABEL]
            and sorted(self.replicas) == [r.index for r in plan.replicas]
        )

    def matches(self, plan: ReplicaSet) -> bool:
        """Everything runs with the settings of `plan`."""
        return self._same_balancer(plan) and all(
            c.running and c.labels.get(HASH) == plan.settings_hash for c in self.replicas.values()
        )

    def rollable_to(self, plan: ReplicaSet) -> bool:
        """The balancer can stay and the replicas be replaced one at a time."""
        return self._same_balancer(plan)


def view_of(containers: list[ContainerInfo]) -> SetView:
    balancer = next((c for c in containers if c.labels.get(ROLE_LABEL) == BALANCER_ROLE), None)
    replicas = {
        int(c.labels[REPLICA_LABEL]): c
        for c in containers
        if c.labels.get(ROLE_LABEL) == REPLICA_ROLE and c.labels.get(REPLICA_LABEL, "").isdigit()
    }
    return SetView(tuple(containers), balancer, replicas)


def differs(current: SetView, plan: ReplicaSet) -> str:
    """Each setting that differs (`path: old → new`), from the balancer's settings label."""
    old = current.balancer.labels.get(SETTINGS_LABEL) if current.balancer is not None else None
    if old is None and current.containers:
        old = current.containers[0].labels.get(SETTINGS_LABEL)
    changed = changed_settings(old, plan.balancer.labels[SETTINGS_LABEL])
    if changed:
        return "; ".join(changed)
    return f"the launch plan differs (settings hash {plan.settings_hash} is new)"
