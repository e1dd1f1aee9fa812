"""The container labels that make a deployment ours and describe it, named once for writers and readers.

The plan writes them; the runtime lists our containers by `MANAGED`; `up`, `status` and `down` read them back.
They are public (`docker inspect` shows them), so they never hold a secret.
"""

from __future__ import annotations

__all__ = ["LABEL_PREFIX", "label"]

LABEL_PREFIX = "org.tgi-orchestrator"


def label(name: str) -> str:
    """`label("port")` -> `org.tgi-orchestrator.port`."""
    return f"{LABEL_PREFIX}.{name}"
