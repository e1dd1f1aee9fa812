"""An optional autoscaler on the engine's queue length: an HPA on a custom metric, or a KEDA ScaledObject.

Queue length, not GPU utilisation: a batching engine keeps its GPU busy at any load, while waiting requests say
that users wait. Use one of the two, never both (KEDA makes its own HPA).
"""

from __future__ import annotations

from typing import Any

from orchestrator.engines.base import Engine
from orchestrator.k8s.manifest import Manifest
from orchestrator.k8s.options import KubeOptions

__all__ = ["autoscaler_manifest", "custom_metric_name"]

_SCALE_DOWN_WINDOW = 600
"""Seconds of low queue before removing a pod: a new one costs minutes of download and warm-up."""


def custom_metric_name(engine: Engine) -> str:
    """The queue gauge as the custom-metrics API can name it (`vllm:num_requests_waiting` has a colon, which
    prometheus-adapter rules rename to `_`; configure the adapter rule to expose this name)."""
    return engine.status_metrics.queue.replace(":", "_")


def autoscaler_manifest(
    options: KubeOptions, meta: dict[str, Any], name: str, engine: Engine
) -> Manifest | None:
    """The autoscaler object, or None when `options.autoscaler` is `none`."""
    if options.autoscaler == "hpa":
        return Manifest("hpa.yaml", _hpa_comment(engine), _hpa(options, meta, name, engine))
    if options.autoscaler == "keda":
        return Manifest("keda.yaml", _keda_comment(), _keda(options, meta, name, engine))
    return None


def _hpa(options: KubeOptions, meta: dict[str, Any], name: str, engine: Engine) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": options.replicas,
            "maxReplicas": options.max_replicas,
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": custom_metric_name(engine)},
                        "target": {"type": "AverageValue", "averageValue": str(options.queue_target)},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": _SCALE_DOWN_WINDOW}},
        },
    }


def _keda(options: KubeOptions, meta: dict[str, Any], name: str, engine: Engine) -> dict[str, Any]:
    namespace = options.namespace or "default"
    query = f'sum({engine.status_metrics.queue}{{namespace="{namespace}",pod=~"{name}-.*"}})'
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {"name": name},
            "minReplicaCount": options.replicas,
            "maxReplicaCount": options.max_replicas,
            "cooldownPeriod": _SCALE_DOWN_WINDOW,
            "triggers": [
                {
                    "type": "prometheus",
                    # KEDA reads trigger metadata as strings only.
                    "metadata": {
                        "serverAddress": options.prometheus_url,
                        "query": query,
                        "threshold": str(options.queue_target),
                    },
                }
            ],
        },
    }


def _hpa_comment(engine: Engine) -> str:
    return (
        f"Scales on {engine.status_metrics.queue} per pod through the custom-metrics API: it needs an adapter "
        f"(e.g. prometheus-adapter) exposing it as {custom_metric_name(engine)}. Scale-down waits "
        f"{_SCALE_DOWN_WINDOW}s. Use this or KEDA, not both."
    )


def _keda_comment() -> str:
    return (
        "KEDA ScaledObject (needs KEDA installed; it creates its own HPA, so render no other). The query assumes "
        "Prometheus scrapes the pods with `namespace` and `pod` labels (kube-prometheus does); adjust it to yours."
    )
