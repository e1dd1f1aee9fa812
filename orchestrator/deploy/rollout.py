"""Rolling replacement of a replica set behind its running balancer: one replica at a time, no request lost.

For each replica: drain it in HAProxy (runtime API: `set server replicas/rI state drain`: no new requests, the
health checks go on), wait until it has no request in flight, stop it (SIGTERM: the engine finishes what it
has), start its replacement from the new plan, wait until it is ready, put it back (`state ready`) and wait
until HAProxy reports it UP, so at most one replica is ever out. A replacement that fails to start is removed;
the error says so while the other replicas keep serving. `roll` does it (`orchestrator
rollout` through `rolling_restart.rollout`, and `up --recreate` when the balancer is unchanged).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from orchestrator.deploy.balancer_state import ServerState, balancer_servers, metrics_endpoint
from orchestrator.deploy.container_steps import emit_info, remove_container, stall_limits
from orchestrator.deploy.diagnosis import deployment_error
from orchestrator.deploy.readiness import ProgressEvent, StartupFailure, StartupTracker
from orchestrator.deploy.replica_set_state import SetView
from orchestrator.deploy.replica_wait import BALANCER_READY_SECONDS, wait_replicas
from orchestrator.errors import DeploymentError
from orchestrator.launch.haproxy_config import BACKEND

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.launch.replicas import Replica, ReplicaSet
    from orchestrator.runtime.containers import DockerRuntime

__all__ = ["roll"]

ProgressCallback = Callable[[ProgressEvent], None]
POLL_SECONDS = 0.1


def roll(
    engine: DockerRuntime, current: SetView, plan: ReplicaSet, settings: Settings, emit: ProgressCallback
) -> None:
    """Replace the replicas of `current` with those of `plan`, one at a time (see the module docstring)."""
    from orchestrator.runtime.balancer import runtime_api

    balancer = current.balancer
    assert balancer is not None
    config = plan.balancer.config
    metrics = metrics_endpoint(config.metrics_bind_address, config.metrics_port)
    tracker = StartupTracker(stall_limits(settings), time.monotonic(), engine=settings.serving_engine)
    grace = settings.timeouts.stop_grace
    for replica in plan.replicas:
        source = f"replica {replica.index}"
        emit_info(emit, tracker, f"{source}: draining in the balancer", source)
        runtime_api(engine, balancer.id, f"set server {BACKEND}/{replica.server} state drain")
        _wait_for(metrics, replica.server, lambda s: s.sessions == 0 and s.queue == 0, grace, "drained")
        old = current.replicas.get(replica.index)
        if old is not None:
            emit_info(emit, tracker, f"{source}: stopping {old.name}", source)
            remove_container(engine, old, grace)
        _replace(engine, replica, plan, settings, emit)
        runtime_api(engine, balancer.id, f"set server {BACKEND}/{replica.server} state ready")
        _wait_for(metrics, replica.server, lambda s: s.serving, BALANCER_READY_SECONDS, "UP")
        emit_info(emit, tracker, f"{source}: back in the balancer", source)


def _replace(
    engine: DockerRuntime, replica: Replica, plan: ReplicaSet, settings: Settings, emit: ProgressCallback
) -> None:
    from orchestrator.deploy.replica_wait import RESTART_RETRIES, SetTrail, start_replica

    trail = SetTrail()
    trail.engine = engine
    try:
        container_id = start_replica(engine, replica, settings, trail)
        wait_replicas(engine, {replica.index: container_id}, plan.replicas, settings, emit)
        engine.set_restart_policy(container_id, "on-failure", RESTART_RETRIES)
    except StartupFailure as failure:
        trail.interrupted()  # removes the failed replacement
        raise deployment_error(failure, settings) from failure
    except BaseException:
        trail.interrupted()
        raise


def _wait_for(
    metrics: str, server: str, done: Callable[[ServerState], bool], timeout: float, what: str
) -> None:
    deadline = time.monotonic() + timeout
    state: ServerState | None = None
    while time.monotonic() < deadline:
        servers = balancer_servers(metrics, timeout=0.5)
        state = servers.get(server) if servers else None
        if state is not None and done(state):
            return
        time.sleep(POLL_SECONDS)
    seen = "no answer from its exporter" if state is None else f"{state.state}, {state.sessions} in flight"
    raise DeploymentError(
        f"replica {server} was not {what} in the balancer within {timeout:g} s ({seen})",
        cause="requests still in flight on it, or HAProxy's health checks do not reach it",
        fix="check `orchestrator status`; raise timeouts.stop_grace for long generations",
    )
