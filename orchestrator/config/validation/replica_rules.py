"""Rules of `host.replicas`: a sane count, one GPU per replica, and host ports that fit and do not collide."""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.config.replicas import replica_count, replica_ports
from orchestrator.config.settings import Settings
from orchestrator.config.validation.common import problem
from orchestrator.errors import ConfigProblem

__all__ = ["MAX_REPLICAS", "REPLICA_RULES"]

MAX_REPLICAS = 64


def _count(settings: Settings) -> Iterator[ConfigProblem]:
    host = settings.host
    if host.replicas == "auto":
        try:
            kind = host.gpu_selection.kind
        except ValueError:
            return  # host.gpus is reported by its own rule
        if kind == "none":
            yield problem(
                settings,
                "host.replicas",
                "auto means one replica per GPU, but host.gpus=none selects none",
                "give a number, e.g. --replicas 3 (the emulator image needs no GPU)",
            )
        return
    if not 1 <= int(host.replicas) <= MAX_REPLICAS:
        yield problem(
            settings, "host.replicas", f"must be auto or 1-{MAX_REPLICAS}", "e.g. --replicas 2, or auto"
        )
        return
    count = int(host.replicas)
    if count == 1:
        return
    if host.num_shard is not None and host.num_shard > 1:
        yield problem(
            settings,
            "host.num_shard",
            "cannot exceed 1 with several replicas (each replica gets one GPU)",
            "unset host.num_shard, or use --replicas 1 to shard one server across GPUs",
        )
    try:
        selection = host.gpu_selection
    except ValueError:
        return
    if selection.kind == "ids" and selection.count is not None and count > selection.count:
        yield problem(
            settings,
            "host.replicas",
            f"asks for {count} replicas but host.gpus lists {selection.count} GPU(s) ({host.gpus}); "
            "each replica gets its own GPU",
            "list one GPU per replica (--gpus 0,1,2), lower --replicas, or use --replicas auto",
        )


def _ports(settings: Settings) -> Iterator[ConfigProblem]:
    host = settings.host
    count = replica_count(host).count
    if count == 1 or not 1 <= count <= MAX_REPLICAS:
        return
    ports = replica_ports(host, count)
    if ports.replicas[-1] > 65535 or ports.replicas[0] < 1:
        path = "host.replica_port" if host.replica_port is not None else "host.port"
        yield problem(
            settings,
            path,
            f"leaves no room for {count} replica ports (ports {ports.replicas[0]}-{ports.replicas[-1]})",
            "pick a lower --port, or set host.replica_port to a free range",
        )
        return
    if not 1 <= ports.metrics <= 65535:
        yield problem(
            settings, "host.balancer_metrics_port", "must be in 1-65535", "pick a free port, e.g. 9101"
        )
        return
    taken = ports.all()
    if len(set(taken)) != len(taken):
        path = "host.balancer_metrics_port" if host.balancer_metrics_port is not None else "host.replica_port"
        yield problem(
            settings,
            path,
            f"collides with another port of the deployment (endpoint {ports.endpoint}, replicas "
            f"{ports.replicas[0]}-{ports.replicas[-1]}, balancer metrics {ports.metrics})",
            "give the endpoint, the replica range and the metrics port distinct ports",
        )


REPLICA_RULES = (_count, _ports)
