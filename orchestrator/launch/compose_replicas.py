"""The Compose file's replica services and balancer, for `host.replicas` > 1, from the same `ReplicaSet` as `up`.

Each replica is the single-container service of its own launch plan (`tgi-1`... under the `gpu` profile, GPU i
reserved for replica i; `tgi-emulator-1`... under `emulator`, answering as `tgi-1`... on the Compose network),
published on its replica port. The balancer service (`balancer`, both profiles) publishes the deployment's
port and the metrics port; on the Compose network it reaches the replicas by name on the engine's port, so its
configuration is the same typed `BalancerConfig` with those addresses, rendered by `launch.haproxy_config` and
handed to the container in an environment variable its entrypoint writes to `haproxy.cfg` (Compose 1.29 has no
inline configs, and a second file could drift).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

from orchestrator.launch.haproxy_config import BalancerServer, render_config
from orchestrator.launch.replicas import ReplicaSet

__all__ = ["balancer_service", "replica_service_names"]


def replica_service_names(index: int) -> tuple[str, str]:
    """(the GPU service, the emulator service) of replica `index`."""
    return f"tgi-{index}", f"tgi-emulator-{index}"


def _q(text: str) -> str:
    return json.dumps(text)


def _lit(text: str) -> str:
    return text.replace("$", "$$")


def balancer_service(plan: ReplicaSet) -> Iterator[str]:
    """The `balancer` service lines (2-space indented under `services:`)."""
    port = plan.replicas[0].plan.container_port
    config = replace(
        plan.balancer.config,
        bind_address="0.0.0.0",
        metrics_bind_address="0.0.0.0",
        servers=tuple(
            BalancerServer(s.name, replica_service_names(r.index)[0], port, s.maxconn)
            for s, r in zip(plan.balancer.config.servers, plan.replicas, strict=True)
        ),
    )
    bind = plan.balancer.config.bind_address
    write = 'printf "%s" "$$HAPROXY_CONFIG" > /etc/haproxy/haproxy.cfg && exec haproxy -W -db -f /etc/haproxy/haproxy.cfg'
    yield "  balancer:"
    yield "    profiles: [gpu, emulator]"
    yield f"    image: {_q(_lit(plan.balancer.image))}"
    yield f'    entrypoint: ["/bin/sh", "-c", {_q(write)}]'
    yield "    environment:"
    yield f"      HAPROXY_CONFIG: {_q(_lit(render_config(config)))}"
    yield "    ports:"
    yield f"      - {_q(f'{bind}:{plan.ports.endpoint}:{plan.ports.endpoint}')}"
    yield f"      - {_q(f'{bind}:{plan.ports.metrics}:{plan.ports.metrics}')}"
    yield '    stop_signal: "SIGUSR1"'
    yield f"    stop_grace_period: {plan.balancer.stop_timeout}s"
    yield '    restart: "no"'
