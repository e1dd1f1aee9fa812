"""`orchestrator rollout`: replace a running deployment with the one the settings describe, as gently as it can.

A replica set whose balancer stays the same is replaced one replica at a time (`rollout.roll`: zero downtime).
A single container, or a set whose balancer must change (another replica count or port), can only be stopped
and started again: `needs_downtime` tells the caller first, so the CLI asks for confirmation (or `--yes`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from orchestrator.deploy.container_steps import connect_runtime
from orchestrator.deploy.info import DeploymentInfo, deployment_info
from orchestrator.deploy.readiness import ProgressEvent
from orchestrator.deploy.replica_set_state import view_of
from orchestrator.deploy.rollout import roll
from orchestrator.errors import DeploymentError, DeploymentNotFoundError

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.runtime.containers import DockerRuntime

__all__ = ["needs_downtime", "rollout"]

ProgressCallback = Callable[[ProgressEvent], None]


def rollout(
    settings: Settings, *, progress: ProgressCallback | None = None, runtime: DockerRuntime | None = None
) -> DeploymentInfo:
    """Replace every replica of the running deployment with the one `settings` describe, one at a time.

    A single-container deployment (or a set whose balancer must change) is recreated at once instead: the
    caller confirms that first (`needs_downtime`)."""
    from orchestrator.config.replicas import replica_count
    from orchestrator.deploy.lifecycle import up
    from orchestrator.deploy.preflight import gpus_requested
    from orchestrator.launch.replicas import replica_set

    emit = progress or (lambda event: None)
    engine = connect_runtime(runtime)
    name = settings.host.container_name
    current = view_of(engine.list_managed(name))
    if not current.containers:
        raise DeploymentNotFoundError(
            f"no deployment named {name!r} to roll out",
            cause="no container of ours has this name",
            fix="start it with `orchestrator up`, or pass the name of one `orchestrator status` lists",
        )
    facts = engine.facts()
    gpu_count = facts.gpu_count if gpus_requested(settings.host.gpu_selection) else None
    if replica_count(settings.host, gpu_count).count == 1 or current.balancer is None:
        return up(settings, recreate=True, progress=emit, runtime=engine)
    plan = replica_set(settings, gpu_count=gpu_count)
    if not current.rollable_to(plan):
        return up(settings, recreate=True, progress=emit, runtime=engine)
    roll(engine, current, plan, settings, emit)
    balancer = current.balancer_id()
    container = engine.inspect(balancer) if balancer else None
    if container is None:
        raise DeploymentError(f"the balancer of {name} vanished during the rollout")
    return deployment_info(container, action="rolled")


def needs_downtime(settings: Settings, *, runtime: DockerRuntime | None = None) -> bool:
    """Whether `rollout(settings)` would have to stop the whole deployment (one replica, or a new balancer)."""
    from orchestrator.config.replicas import replica_count
    from orchestrator.launch.replicas import replica_set

    engine = connect_runtime(runtime)
    current = view_of(engine.list_managed(settings.host.container_name))
    if replica_count(settings.host).count == 1 or current.balancer is None:
        return True
    return not current.rollable_to(replica_set(settings))
