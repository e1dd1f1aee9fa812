"""Settings + `KubeOptions` -> the manifests, as plain dicts in a stable order (pure; no I/O).

Everything about the engine comes from the launch plan `orchestrator up` would run (image, arguments,
environment, shm, grace) and the engine record (port, health route, drain, queue metric), so a cluster pod and a
local container get the same command line. What differs is the plumbing: secrets come from a Secret by
reference (the values are never rendered), the cache is a PersistentVolumeClaim, and the kubelet's probes replace
Docker's healthcheck.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from orchestrator.config.replicas import replica_count
from orchestrator.config.settings import Settings
from orchestrator.engines.base import Engine
from orchestrator.k8s.autoscaling import autoscaler_manifest
from orchestrator.k8s.manifest import Manifest
from orchestrator.k8s.options import KubeOptions, check_options
from orchestrator.k8s.pod import PodFacts, pod_template
from orchestrator.launch.plan import LaunchPlan, build_plan

__all__ = ["MANAGED_BY", "Manifest", "render_manifests"]

MANAGED_BY = "tgi-orchestrator"


def render_manifests(settings: Settings, options: KubeOptions | None = None) -> list[Manifest]:
    """The Deployment, Service, PodDisruptionBudget, PVC and (optionally) an autoscaler for `settings`.

    Raises `ConfigError` for invalid settings or options (nothing is rendered then).
    """
    options = options or KubeOptions()
    if options.replicas is None:
        options = replace(options, replicas=replica_count(settings.host).count)
    name = settings.host.container_name
    check_options(options, name, settings.source_of("host.container_name"))
    engine = settings.serving_engine
    gpus = _gpus_per_pod(settings, options.replicas or 1)
    plan = build_plan(settings, gpu_count=gpus)
    labels = _labels(name, engine)
    facts = PodFacts.of(settings, plan, engine, options, gpus=gpus, name=name)
    meta = _metadata(name, options, labels)
    manifests = [
        _deployment(meta, labels, plan, facts, options, name),
        _service(meta, labels, engine),
        _disruption_budget(meta, labels),
        _cache_claim(name, options, labels),
    ]
    scaler = autoscaler_manifest(options, meta, name, engine)
    if scaler is not None:
        manifests.append(scaler)
    return manifests


def _gpus_per_pod(settings: Settings, replicas: int) -> int:
    """GPUs per pod: the shard count. Indices and UUIDs mean nothing in a cluster (the device plugin assigns
    GPUs), so only their number counts: listed GPUs are one pod's shards, or one GPU per replica when there are
    several; `all` without `host.num_shard` is one GPU, the model's best layout."""
    selection = settings.host.gpu_selection
    if selection.kind == "none":
        return 0
    if settings.host.num_shard is not None:
        return settings.host.num_shard
    if replicas > 1:
        return 1
    return selection.count or 1


def _labels(name: str, engine: Engine) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": engine.kind,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def _metadata(name: str, options: KubeOptions, labels: dict[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if options.namespace:
        meta["namespace"] = options.namespace
    meta["labels"] = dict(labels)
    return meta


def _selector(labels: dict[str, str]) -> dict[str, str]:
    return {"app.kubernetes.io/name": labels["app.kubernetes.io/name"]}


def _deployment(
    meta: dict[str, Any],
    labels: dict[str, str],
    plan: LaunchPlan,
    facts: PodFacts,
    options: KubeOptions,
    name: str,
) -> Manifest:
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": options.replicas,
            "selector": {"matchLabels": _selector(labels)},
            # One GPU per pod and rarely a spare GPU in the node pool: a surge pod would sit Pending, so an
            # update takes one old pod down first. With one replica that is a short outage (say so to users).
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            "template": pod_template(labels, plan, facts, claim=f"{name}-cache"),
        },
    }
    comment = "\n".join(
        [
            f"{facts.engine_name} serving {plan.labels.get('org.tgi-orchestrator.model', '')}, "
            f"{options.replicas} replica(s), {facts.gpus} GPU(s) per pod.",
            f"startupProbe: {facts.startup.period}s x {facts.startup.failures} = {facts.startup.covers}s, covering "
            f"timeouts.startup_deadline ({facts.startup_deadline:g}s: download, load and warm-up).",
            "readinessProbe on the health route takes a failing pod out of the Service.",
            "No livenessProbe on the health route, on purpose: the route can wait behind a running forward pass,",
            "so a busy but healthy pod would be killed, losing its streams and minutes of download and warm-up,",
            "and its load would move to the other pods. A crashed engine exits and the kubelet restarts it anyway.",
            f"terminationGracePeriodSeconds {facts.grace}: preStop {facts.pre_stop}s (the Service drops the pod "
            f"first) + the engine's drain {facts.drain:g}s + margin.",
            f"Secrets come from Secret {facts.secret_name} by reference: kubectl create secret generic "
            f"{facts.secret_name} --from-literal=HF_TOKEN=... "
            + ("--from-literal=API_KEY=..." if facts.api_key_env else ""),
        ]
    )
    return Manifest("deployment.yaml", comment.rstrip(), body)


def _service(meta: dict[str, Any], labels: dict[str, str], engine: Engine) -> Manifest:
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(labels),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    comment = (
        f"Port 80 -> the {engine.name} port of ready pods. kube-proxy balances per connection, not by least "
        "connections: long streams on kept-alive connections can pile onto one pod; put a balancer (or many "
        "short connections) in front for even spread."
    )
    return Manifest("service.yaml", comment, body)


def _disruption_budget(meta: dict[str, Any], labels: dict[str, str]) -> Manifest:
    body = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta,
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": _selector(labels)}},
    }
    return Manifest("pdb.yaml", "Node drains evict at most one pod at a time.", body)


def _cache_claim(name: str, options: KubeOptions, labels: dict[str, str]) -> Manifest:
    shared = (options.replicas or 1) > 1 or options.autoscaler != "none"
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteMany" if shared else "ReadWriteOnce"],
        "resources": {"requests": {"storage": options.cache_size}},
    }
    if options.storage_class:
        spec["storageClassName"] = options.storage_class
    meta: dict[str, Any] = {"name": f"{name}-cache"}
    if options.namespace:
        meta["namespace"] = options.namespace
    meta["labels"] = dict(labels)
    body = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}
    comment = (
        "The model cache (HF_HOME) every pod mounts. "
        + (
            "ReadWriteMany: several pods share it."
            if shared
            else "ReadWriteOnce: one pod; use ReadWriteMany before scaling out."
        )
        + " Fill it once with `orchestrator pull` on a machine or pod that mounts it, or let the first pod "
        "download (the startupProbe allows for that)."
    )
    return Manifest("pvc.yaml", comment, body)
