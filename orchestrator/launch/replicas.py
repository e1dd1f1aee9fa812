"""Pure: validated `Settings` -> `ReplicaSet`, N engine containers behind one HAProxy container, as plain values.

`replica_set(settings, gpu_count=...)` is a function of the settings (and the GPU count the engine reports for
`gpus=all`) alone: `up`, `rollout`, the Compose renderer and the Kubernetes renderer all read the same answer.
- Replica i (1-based) is the single-container `LaunchPlan` of the same settings, named `<name>-replica-<i>`,
  with GPU i of the selection (`gpus=all`: device i; a list: its i-th entry; `none`: no GPU), one shard, and
  published on its own host port (`config.replicas.replica_ports`).
- The balancer is a container named `<name>` (the deployment's one endpoint, on `host.port`) on the host
  network, so it reaches the replicas on their published ports; its configuration is rendered from typed
  values (`launch.haproxy_config`), with per-replica `maxconn` = the engine's concurrency limit.
- Every container carries the deployment's name, its role and replica index as labels, and one settings hash
  over the whole set (a change to any replica or to the balancer changes it).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

from orchestrator.config.replicas import ReplicaPorts, replica_count, replica_ports
from orchestrator.config.settings import HostSettings, Settings
from orchestrator.config.validation import check
from orchestrator.launch.haproxy_config import BalancerConfig, BalancerServer, render_config
from orchestrator.launch.labels import label
from orchestrator.launch.plan import LaunchPlan, _launch_values, build_plan
from orchestrator.launch.settings_label import SETTINGS_LABEL, settings_label

__all__ = [
    "BALANCER_HASH_LABEL",
    "BALANCER_ROLE",
    "REPLICA_LABEL",
    "REPLICA_ROLE",
    "ROLE_LABEL",
    "BalancerPlan",
    "Replica",
    "ReplicaSet",
    "replica_container_name",
    "replica_set",
    "server_name",
]

ROLE_LABEL = label("role")
BALANCER_HASH_LABEL = label("balancer-hash")
"""On the balancer: a digest of its image and configuration (replicas can be replaced behind an unchanged one)."""
REPLICA_LABEL = label("replica")
REPLICA_ROLE = "replica"
BALANCER_ROLE = "balancer"
BALANCER_STOP_MARGIN = 10


@dataclass(frozen=True)
class Replica:
    """One engine container of the set: 1-based `index`, its host `port`, its GPU (None: none)."""

    index: int
    port: int
    gpu: str | None
    plan: LaunchPlan

    @property
    def server(self) -> str:
        """Its server name in HAProxy (`r1`...)."""
        return server_name(self.index)


@dataclass(frozen=True)
class BalancerPlan:
    """The HAProxy container: its configuration text goes into the container before it starts."""

    container_name: str
    image: str
    config: BalancerConfig
    config_text: str
    labels: dict[str, str]
    stop_timeout: int
    """Its soft stop waits for in-flight streams, which the replicas drain within their own grace."""


@dataclass(frozen=True)
class ReplicaSet:
    """A deployment of several replicas behind one balancer."""

    name: str
    replicas: tuple[Replica, ...]
    balancer: BalancerPlan
    ports: ReplicaPorts
    settings_hash: str
    warnings: tuple[str, ...]

    @property
    def endpoint_port(self) -> int:
        return self.ports.endpoint


def server_name(index: int) -> str:
    return f"r{index}"


def replica_container_name(name: str, index: int) -> str:
    return f"{name}-replica-{index}"


def _gpu_of(settings: Settings, index: int) -> str | None:
    selection = settings.host.gpu_selection
    if selection.kind == "none":
        return None
    if selection.kind == "ids":
        return selection.ids[index - 1]
    return str(index - 1)


def _replica_settings(settings: Settings, index: int, port: int, gpu: str | None) -> Settings:
    """The same settings as one single-container deployment: its own name, port and GPU, one shard."""
    host = HostSettings(
        **{
            **settings.host.model_dump(),
            "container_name": replica_container_name(settings.host.container_name, index),
            "port": port,
            "gpus": gpu if gpu is not None else "none",
            "num_shard": None,
            "replicas": 1,
            "replica_port": None,
            "balancer_metrics_port": None,
        }
    )
    copy = settings.model_copy(update={"host": host})
    check(copy)
    return copy


def _server_address(bind_address: str) -> str:
    """Where the balancer (host network) reaches a replica published on `bind_address`."""
    if bind_address in {"0.0.0.0", "::"} or bind_address.startswith("127."):
        return "127.0.0.1" if ":" not in bind_address else "::1"
    return bind_address


def replica_set(
    settings: Settings, *, gpu_count: int | None = None, offline_commit: str | None = None
) -> ReplicaSet:
    """The replicas and balancer `settings` describe (`gpu_count`: the engine's GPUs for `gpus=all`;
    `offline_commit`: every replica starts offline at this cached commit, as `build_plan` does)."""
    if not settings.validated:
        check(settings)
    host, engine = settings.host, settings.serving_engine
    count = replica_count(host, gpu_count)
    ports = replica_ports(host, count.count)
    warnings = [count.note] if count.note else []
    replicas = []
    for index, port in enumerate(ports.replicas, start=1):
        gpu = _gpu_of(settings, index)
        plan = build_plan(_replica_settings(settings, index, port, gpu), offline_commit=offline_commit)
        replicas.append(Replica(index, port, gpu, plan))
    limit = engine.concurrency_limit(_launch_values(settings, 1))
    address = _server_address(host.bind_address)
    config = BalancerConfig(
        bind_address=host.bind_address,
        port=host.port,
        metrics_bind_address=host.bind_address,
        metrics_port=ports.metrics,
        servers=tuple(BalancerServer(r.server, address, r.port, limit) for r in replicas),
        health_path=engine.routes.health,
    )
    text = render_config(config)
    balancer_hash = hashlib.sha256(f"{host.balancer_image}\n{text}".encode()).hexdigest()[:16]
    digest = hashlib.sha256(
        "\n".join([*(r.plan.settings_hash for r in replicas), host.balancer_image, text]).encode()
    ).hexdigest()[:16]
    common = {
        label("managed"): "true",
        label("engine"): engine.kind,
        label("name"): host.container_name,
        label("model"): settings.model.id,
        label("settings-hash"): digest,
        label("bind-address"): host.bind_address,
        label("replicas"): str(count.count),
    }
    final = tuple(
        replace(r, plan=replace(r.plan, labels={**r.plan.labels, **common, ROLE_LABEL: REPLICA_ROLE,
                                                REPLICA_LABEL: str(r.index), label("port"): str(r.port)}))
        for r in replicas
    )  # fmt: skip
    balancer = BalancerPlan(
        container_name=host.container_name,
        image=host.balancer_image,
        config=config,
        config_text=text,
        labels={
            **common,
            ROLE_LABEL: BALANCER_ROLE,
            label("port"): str(host.port),
            label("metrics-port"): str(ports.metrics),
            label("gpus"): host.gpus,
            label("tgi-version"): final[0].plan.labels.get(label("tgi-version"), ""),
            BALANCER_HASH_LABEL: balancer_hash,
            SETTINGS_LABEL: settings_label(settings),
        },
        stop_timeout=math.ceil(settings.timeouts.stop_grace) + BALANCER_STOP_MARGIN,
    )
    return ReplicaSet(host.container_name, final, balancer, ports, digest, tuple(warnings))
