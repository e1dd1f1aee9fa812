"""Kubernetes manifests from the same settings and launch plan as `orchestrator up` (`orchestrator k8s render`).

Manifests are plain dicts built from the plan (no string templates), one object per file, each with a comment
saying why its less obvious values are what they are. `render_manifests` is pure; `write_manifests` writes a
directory atomically; `manifests_text` gives one multi-document YAML stream.
"""

from __future__ import annotations

from orchestrator.k8s.manifest import Manifest
from orchestrator.k8s.options import AUTOSCALERS, KubeOptions
from orchestrator.k8s.output import manifests_text, write_manifests
from orchestrator.k8s.render import render_manifests

__all__ = ["AUTOSCALERS", "KubeOptions", "Manifest", "manifests_text", "render_manifests", "write_manifests"]
