"""What HAProxy says about each replica: state (UP, DOWN, DRAIN, MAINT), connections in flight and queue.

Read from its Prometheus exporter (`/metrics` on the balancer's metrics port; cheap, no `docker exec`):
`haproxy_server_status{proxy,server,state}` is 1 for the current state, `haproxy_server_current_sessions` and
`haproxy_server_current_queue` are gauges per server. `parse_servers` is the pure part.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.config.urls import endpoint_for
from orchestrator.deploy.probes import http_get
from orchestrator.formats.prometheus import Series, parse_prometheus
from orchestrator.launch.haproxy_config import BACKEND

__all__ = ["ServerState", "balancer_servers", "metrics_endpoint", "parse_servers"]


@dataclass(frozen=True)
class ServerState:
    """One replica as the balancer sees it."""

    name: str
    state: str
    """UP, DOWN, DRAIN, MAINT, NOLB (HAProxy's words)."""
    sessions: int
    queue: int

    @property
    def serving(self) -> bool:
        return self.state == "UP"


def _label(labels: tuple[tuple[str, str], ...], key: str) -> str:
    return next((v for k, v in labels if k == key), "")


def parse_servers(series: Series, backend: str = BACKEND) -> dict[str, ServerState]:
    """Server name -> its state, from the exporter's series (servers of `backend` only)."""
    states: dict[str, str] = {}
    sessions: dict[str, float] = {}
    queues: dict[str, float] = {}
    for (name, labels), number in series.items():
        if _label(labels, "proxy") != backend:
            continue
        server = _label(labels, "server")
        if not server:
            continue
        if name == "haproxy_server_status" and number == 1:
            states[server] = _label(labels, "state")
        elif name == "haproxy_server_current_sessions":
            sessions[server] = number
        elif name == "haproxy_server_current_queue":
            queues[server] = number
    return {
        server: ServerState(server, states.get(server, "?"), round(sessions.get(server, 0)), round(queues.get(server, 0)))
        for server in sorted(set(states) | set(sessions), key=lambda s: (len(s), s))
    }  # fmt: skip


def metrics_endpoint(bind_address: str, metrics_port: int) -> str:
    """The exporter's base URL as seen from this host (wildcards map to loopback, like every endpoint)."""
    return endpoint_for(bind_address, metrics_port)


def balancer_servers(endpoint: str, *, timeout: float = 1.0) -> dict[str, ServerState] | None:
    """The balancer's view of its replicas, or None when its exporter does not answer."""
    answer = http_get(endpoint, "/metrics", timeout=timeout)
    if answer is None or answer[0] != 200:
        return None
    return parse_servers(parse_prometheus(answer[1].decode("utf-8", "replace")))
