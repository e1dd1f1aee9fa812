"""Which of the host's GPUs `host.gpus` gives the container: `all`, `none`, NVML indices or `GPU-<uuid>` ids."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.config.gpus import GpuSelection
from orchestrator.gpu.values import GpuInfo, GpuReport

__all__ = ["Selected", "select_gpus"]


@dataclass(frozen=True)
class Selected:
    """The GPUs picked, in the selection's order, and the ids that name no GPU of this host."""

    gpus: tuple[GpuInfo, ...]
    unknown: tuple[str, ...] = ()


def select_gpus(report: GpuReport, selection: GpuSelection) -> Selected:
    """The GPUs of `report` that `selection` names (UUIDs compared without case)."""
    if selection.kind == "none":
        return Selected(())
    if selection.kind == "all":
        return Selected(report.gpus)
    by_index = {str(gpu.index): gpu for gpu in report.gpus}
    by_uuid = {gpu.uuid.lower(): gpu for gpu in report.gpus}
    picked: list[GpuInfo] = []
    unknown: list[str] = []
    for ident in selection.ids:
        gpu = by_index.get(ident) or by_uuid.get(ident.lower())
        if gpu is None:
            unknown.append(ident)
        else:
            picked.append(gpu)
    return Selected(tuple(picked), tuple(unknown))
