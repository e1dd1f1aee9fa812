"""What NVML reports about the host's GPUs, as frozen plain values (tests build them from recorded readings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["GpuInfo", "GpuProcess", "GpuReport"]


@dataclass(frozen=True)
class GpuProcess:
    """A process holding memory on a GPU; `used_bytes` is None where the driver does not tell (containers)."""

    pid: int
    used_bytes: int | None

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "used_bytes": self.used_bytes}


@dataclass(frozen=True)
class GpuInfo:
    """One GPU as NVML sees it; index is NVML's (the numbering `docker --gpus device=N` uses)."""

    index: int
    name: str
    uuid: str
    compute_capability: tuple[int, int]
    memory_total: int
    memory_free: int
    processes: tuple[GpuProcess, ...] = ()
    mig_enabled: bool | None = False
    """None where the GPU does not support MIG or NVML could not tell."""

    @property
    def compute_text(self) -> str:
        return f"{self.compute_capability[0]}.{self.compute_capability[1]}"

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "uuid": self.uuid,
            "compute_capability": self.compute_text,
            "memory_total_bytes": self.memory_total,
            "memory_free_bytes": self.memory_free,
            "processes": [p.to_json() for p in self.processes],
            "mig_enabled": self.mig_enabled,
        }


@dataclass(frozen=True)
class GpuReport:
    """Everything NVML told, or why it told nothing (`error`: no package, no driver, driver not loaded)."""

    gpus: tuple[GpuInfo, ...] = ()
    driver_version: str | None = None
    cuda_version: tuple[int, int] | None = None
    """The newest CUDA version the driver supports (`nvmlSystemGetCudaDriverVersion_v2`)."""
    error: str | None = None

    @property
    def available(self) -> bool:
        return self.error is None

    @property
    def cuda_text(self) -> str | None:
        return None if self.cuda_version is None else f"{self.cuda_version[0]}.{self.cuda_version[1]}"

    def to_json(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "error": self.error,
            "driver_version": self.driver_version,
            "cuda_version": self.cuda_text,
            "gpus": [g.to_json() for g in self.gpus],
        }
