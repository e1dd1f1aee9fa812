"""Manifests -> YAML text (each object under its comment) or a directory of files written all or nothing."""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path

import yaml

from orchestrator.k8s.manifest import Manifest

__all__ = ["KUSTOMIZATION", "manifest_text", "manifests_text", "write_manifests"]

KUSTOMIZATION = "kustomization.yaml"


def manifest_text(manifest: Manifest) -> str:
    """One YAML document: the comment as `#` lines, then the object in the order it was built."""
    lines = [
        part
        for line in manifest.comment.splitlines()
        for part in textwrap.wrap(line, 106, break_on_hyphens=False, break_long_words=False) or [""]
    ]
    comment = "".join(f"# {line}\n" if line else "#\n" for line in lines)
    return comment + yaml.safe_dump(manifest.body, sort_keys=False, default_flow_style=False, width=110)


def manifests_text(manifests: Sequence[Manifest]) -> str:
    """A multi-document YAML stream (`kubectl apply -f -`)."""
    return "---\n".join(manifest_text(m) for m in manifests)


def write_manifests(manifests: Sequence[Manifest], directory: Path) -> list[Path]:
    """Write one file per object and a `kustomization.yaml` listing them (`kubectl apply -k DIR`).

    Files are written to a temporary directory beside `directory` first and moved in one by one with
    `os.replace`, so an interrupted render leaves either the old file or the new one, never half a file. Files
    this render did not produce are left alone.
    """
    directory.mkdir(parents=True, exist_ok=True)
    texts = {m.filename: manifest_text(m) for m in manifests}
    texts[KUSTOMIZATION] = _kustomization(manifests)
    staging = Path(tempfile.mkdtemp(prefix=".k8s-render-", dir=directory))
    try:
        for filename, text in texts.items():
            (staging / filename).write_text(text)
        written = []
        for filename in texts:
            os.replace(staging / filename, directory / filename)
            written.append(directory / filename)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _kustomization(manifests: Sequence[Manifest]) -> str:
    body = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [m.filename for m in manifests],
    }
    text: str = yaml.safe_dump(body, sort_keys=False)
    return "# Rendered by `orchestrator k8s render`; apply with `kubectl apply -k .`\n" + text
