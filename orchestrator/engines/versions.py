"""Release numbers as every engine writes them in image tags: `3.3.7`, `v0.33.0`, `2.4.1-rocm` -> (major, minor, patch).

Shared by the engines (TGI tags have no `v`, vLLM's do); what each version *means* stays in the engine's own
`versions` module.
"""

from __future__ import annotations

import re

__all__ = ["Version", "format_version", "parse_version"]

Version = tuple[int, int, int]

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")


def parse_version(text: str) -> Version | None:
    """`3.3.7`, `v2.0`, `2.4.1-rocm` -> (major, minor, patch); anything else (`latest`, `sha-abc`) -> None."""
    match = _VERSION.match(text.strip())
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def format_version(version: Version) -> str:
    return ".".join(str(part) for part in version)
