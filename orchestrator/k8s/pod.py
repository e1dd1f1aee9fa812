"""The pod template: the plan's container, probes sized from the start-up deadline, a grace above the drain."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from orchestrator.config.settings import Settings
from orchestrator.engines.base import Engine
from orchestrator.k8s.options import KubeOptions, quantity_of_shm
from orchestrator.launch.plan import LaunchPlan

__all__ = ["PRE_STOP_SECONDS", "PodFacts", "StartupProbe", "pod_template"]

PRE_STOP_SECONDS = 10
"""Endpoints drop a terminating pod a moment after the kubelet signals it; the engine keeps serving meanwhile."""
_GRACE_MARGIN = 10
_STARTUP_PERIOD = 10
_SETTINGS_HASH = "org.tgi-orchestrator/settings-hash"


@dataclass(frozen=True)
class StartupProbe:
    period: int
    failures: int

    @property
    def covers(self) -> int:
        """Seconds the kubelet waits for the first success before it restarts the container."""
        return self.period * self.failures


@dataclass(frozen=True)
class PodFacts:
    """The numbers and names behind the pod template, kept for the manifest comments and tests."""

    engine_name: str
    container_name: str
    port: int
    health: str
    gpus: int
    shm: str
    drain: float
    grace: int
    pre_stop: int
    startup: StartupProbe
    startup_deadline: float
    secret_name: str
    token_env: str
    api_key_env: str | None
    cpu: str
    memory: str

    @classmethod
    def of(
        cls,
        settings: Settings,
        plan: LaunchPlan,
        engine: Engine,
        options: KubeOptions,
        *,
        gpus: int,
        name: str,
    ) -> PodFacts:
        drain = engine.drain_in_args(plan.command)  # the drain flag the plan passes (vLLM's), or the default
        drain = engine.drain_seconds if drain is None else drain
        deadline = settings.timeouts.startup_deadline
        return cls(
            engine_name=engine.name,
            container_name=engine.kind,
            port=plan.container_port,
            health=engine.routes.health,
            gpus=gpus,
            shm=quantity_of_shm(settings.host.shm_size),
            drain=drain,
            grace=max(plan.stop_timeout, PRE_STOP_SECONDS + math.ceil(drain) + _GRACE_MARGIN),
            pre_stop=PRE_STOP_SECONDS,
            startup=StartupProbe(_STARTUP_PERIOD, max(1, math.ceil(deadline / _STARTUP_PERIOD))),
            startup_deadline=deadline,
            secret_name=options.secret_name or f"{name}-secrets",
            token_env=plan.token_env,
            api_key_env=plan.api_key_env if settings.secrets.api_key is not None else None,
            # A GPU pod needs cores for tokenization and HTTP and memory to load the weights; the emulator little.
            cpu=options.cpu or ("4" if gpus else "1"),
            memory=options.memory or ("16Gi" if gpus else "1Gi"),
        )


def pod_template(labels: dict[str, str], plan: LaunchPlan, facts: PodFacts, *, claim: str) -> dict[str, Any]:
    resources: dict[str, Any] = {"requests": {"cpu": facts.cpu, "memory": facts.memory}}
    if facts.gpus:
        resources["limits"] = {"nvidia.com/gpu": str(facts.gpus)}
    container: dict[str, Any] = {
        "name": facts.container_name,
        "image": plan.image,
        "args": list(plan.command),
        "env": _env(plan, facts),
        "ports": [{"name": "http", "containerPort": facts.port, "protocol": "TCP"}],
        "resources": resources,
        "volumeMounts": [
            {"name": "shm", "mountPath": "/dev/shm"},
            {"name": "cache", "mountPath": _data_dir(plan)},
        ],
        "startupProbe": _probe(facts, period=facts.startup.period, failures=facts.startup.failures),
        "readinessProbe": _probe(facts, period=5, failures=3),
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(facts.pre_stop)]}}},
    }
    return {
        "metadata": {
            "labels": dict(labels),
            # A settings change changes the hash, so `kubectl apply` rolls the pods even when only env changed.
            "annotations": {_SETTINGS_HASH: plan.settings_hash},
        },
        "spec": {
            "terminationGracePeriodSeconds": facts.grace,
            "containers": [container],
            "volumes": [
                {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": facts.shm}},
                {"name": "cache", "persistentVolumeClaim": {"claimName": claim}},
            ],
        },
    }


def _probe(facts: PodFacts, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": facts.health, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def _env(plan: LaunchPlan, facts: PodFacts) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": key, "value": value} for key, value in sorted(plan.environment.items())
    ]
    env.append(_secret_env(facts.token_env, facts.secret_name, "HF_TOKEN", optional=True))
    if facts.api_key_env:
        env.append(_secret_env(facts.api_key_env, facts.secret_name, "API_KEY", optional=False))
    return env


def _secret_env(name: str, secret: str, key: str, *, optional: bool) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": optional}}}


def _data_dir(plan: LaunchPlan) -> str:
    """Where the plan mounts the host cache (the engine's data dir, e.g. `/data`)."""
    return plan.mounts[0].target
