"""What a cluster needs beyond the settings (namespace, sizes, autoscaler), checked before anything renders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from orchestrator.errors import ConfigError, ConfigProblem

__all__ = ["AUTOSCALERS", "Autoscaler", "KubeOptions", "check_options", "quantity_of_shm"]

Autoscaler = Literal["none", "hpa", "keda"]
AUTOSCALERS: tuple[Autoscaler, ...] = ("none", "hpa", "keda")

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
"""RFC 1035 label: what a Service name must be (Deployments accept more; one rule keeps every name valid)."""
_QUANTITY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T|m)?$")
_SHM = re.compile(r"^(\d+)([bkmg]?)$", re.IGNORECASE)
_SHM_UNITS = {"": "", "b": "", "k": "Ki", "m": "Mi", "g": "Gi"}


@dataclass(frozen=True)
class KubeOptions:
    """Cluster-side choices for `orchestrator k8s render`; the settings give everything about the engine."""

    namespace: str | None = None
    replicas: int | None = None
    """Pods; default: `host.replicas` (`--replicas`), `auto` counting the listed GPUs."""
    autoscaler: Autoscaler = "none"
    max_replicas: int = 4
    queue_target: int = 10
    """Waiting requests per pod above which the autoscaler adds a pod."""
    prometheus_url: str = "http://prometheus-operated.monitoring.svc:9090"
    """Where KEDA queries the queue metric."""
    secret_name: str | None = None
    """The Secret holding HF_TOKEN (and API_KEY); default `<name>-secrets`."""
    cache_size: str = "20Gi"
    storage_class: str | None = None
    cpu: str | None = None
    """CPU request; default 4 with GPUs, 1 without."""
    memory: str | None = None
    """Memory request; default 16Gi with GPUs (loading the weights), 1Gi without."""


def check_options(options: KubeOptions, name: str, name_source: str = "default") -> None:
    """Raise `ConfigError` naming each bad option, its value and the fix (`name_source`: where the deployment
    name came from, e.g. `flag --name`)."""
    problems: list[ConfigProblem] = []

    def bad(option: str, value: object, rule: str, fix: str, source: str = "k8s render option") -> None:
        problems.append(ConfigProblem(option, source, str(value), rule, fix))

    if not _DNS_LABEL.match(name):
        bad(
            "host.container_name",
            name,
            "not a valid Kubernetes object name (lowercase letters, digits and '-', starting with a letter, "
            "at most 63 characters)",
            f"pass --name {_suggest(name)} (the objects are named after the deployment)",
            name_source,
        )
    if options.namespace is not None and not _DNS_LABEL.match(options.namespace):
        bad(
            "--namespace",
            options.namespace,
            "not a valid namespace name",
            f"pass --namespace {_suggest(options.namespace)}",
        )
    if options.secret_name is not None and not _DNS_LABEL.match(options.secret_name):
        bad(
            "--secret-name",
            options.secret_name,
            "not a valid Secret name",
            f"pass --secret-name {_suggest(options.secret_name)}",
        )
    replicas = options.replicas or 1
    if replicas < 1:
        bad("--replicas", replicas, "must be at least 1", "pass --replicas 1 or more")
    if options.autoscaler != "none" and options.max_replicas < replicas:
        bad(
            "--max-replicas",
            options.max_replicas,
            f"below --replicas {replicas}",
            f"pass --max-replicas {replicas} or more",
        )
    if options.queue_target < 1:
        bad("--queue-target", options.queue_target, "must be at least 1", "pass --queue-target 10")
    quantities = (("--cache-size", options.cache_size), ("--cpu", options.cpu), ("--memory", options.memory))
    for option, value in quantities:
        if value is not None and not _QUANTITY.match(value):
            bad(option, value, "not a Kubernetes quantity", f"pass {option} like 20Gi, 4 or 500m")
    if problems:
        raise ConfigError(problems)


def quantity_of_shm(shm_size: str) -> str:
    """Docker's `1g` -> Kubernetes' `1Gi` (Docker's units are binary); the settings already checked the form."""
    match = _SHM.match(shm_size.strip())
    assert match is not None, shm_size
    return match.group(1) + _SHM_UNITS[match.group(2).lower()]


def _suggest(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = "llm-" + cleaned
    return cleaned[:63].rstrip("-")
