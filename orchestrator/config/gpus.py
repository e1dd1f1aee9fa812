"""The `host.gpus` mini-language: `all`, `none`, or a comma list of GPU indices / `GPU-<uuid>` ids.

Parsed in one place so validation (syntax errors) and the plan (device requests, shard count) agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["GpuSelection", "parse_gpus"]

_INDEX = re.compile(r"^\d+$")
_UUID = re.compile(r"^GPU-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$", re.IGNORECASE)


@dataclass(frozen=True)
class GpuSelection:
    """`kind` is `all`, `none` or `ids`; `ids` lists the devices for `ids`."""

    kind: str
    ids: tuple[str, ...] = ()

    @property
    def count(self) -> int | None:
        """How many GPUs the container gets: known for `none` and `ids`, unknown (None) for `all`."""
        if self.kind == "all":
            return None
        return len(self.ids)


def parse_gpus(text: str) -> GpuSelection:
    """Parse `host.gpus`; raises ValueError with the offending part for anything else."""
    value = text.strip()
    if value.lower() in {"all", "none"}:
        return GpuSelection(value.lower())
    parts = [part.strip() for part in value.split(",")]
    if not value or any(not part for part in parts):
        raise ValueError("empty entry in the GPU list")
    for part in parts:
        if not (_INDEX.match(part) or _UUID.match(part)):
            raise ValueError(f"{part!r} is neither a GPU index nor a GPU-<uuid> id")
    if len(set(parts)) != len(parts):
        raise ValueError("a GPU is listed twice")
    return GpuSelection("ids", tuple(parts))
