"""`status` for replica sets: the balancer's row (replicas UP, requests in flight and queued in HAProxy), and
each replica's row annotated with what the balancer sees of it (UP / DOWN / DRAIN / MAINT, in flight, queued).

A replica's own row (phase, limits, the engine's queue and batch) comes from the ordinary `probe_status`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from orchestrator.deploy.balancer_state import ServerState, balancer_servers, metrics_endpoint
from orchestrator.deploy.info import DeploymentStatus, deployment_info
from orchestrator.launch.labels import label
from orchestrator.launch.replicas import server_name

if TYPE_CHECKING:
    from orchestrator.runtime.containers import ContainerInfo

__all__ = ["annotate_replicas", "balancer_status"]


def _servers_of(container: ContainerInfo) -> dict[str, ServerState] | None:
    port = container.labels.get(label("metrics-port"), "")
    if not port.isdigit():
        return None
    bind = container.labels.get(label("bind-address"), "127.0.0.1")
    return balancer_servers(metrics_endpoint(bind, int(port)), timeout=0.5)


def balancer_status(container: ContainerInfo) -> DeploymentStatus:
    """The balancer's row: how many replicas serve, and the requests in flight and queued in HAProxy."""
    info = deployment_info(container)
    if not container.running:
        phase = f"exited ({container.exit_code})" if container.status == "exited" else container.status
        return DeploymentStatus(info, phase)
    servers = _servers_of(container)
    if servers is None:
        return DeploymentStatus(info, "balancer (exporter not answering)")
    up = sum(1 for s in servers.values() if s.serving)
    detail = ", ".join(f"{s.name} {s.state}" for s in servers.values())
    return DeploymentStatus(
        info,
        f"balancing ({up}/{len(servers)} up)",
        queue_size=sum(s.queue for s in servers.values()),
        running_batch=sum(s.sessions for s in servers.values()),
        balancer=detail,
    )


def annotate_replicas(rows: list[DeploymentStatus], balancers: list[ContainerInfo]) -> list[DeploymentStatus]:
    """Each replica row with the balancer's view of it (`UP, 12 in flight, 0 queued`)."""
    views: dict[str, dict[str, ServerState]] = {}
    for container in balancers:
        servers = _servers_of(container) if container.running else None
        if servers is not None:
            views[container.labels.get(label("name"), container.name)] = servers
    out = []
    for row in rows:
        index = row.info.replica
        servers = views.get(row.info.deployment)
        state = servers.get(server_name(index)) if servers is not None and index is not None else None
        if state is not None:
            row = replace(row, balancer=f"{state.state}, {state.sessions} in flight, {state.queue} queued")
        out.append(row)
    return out
