"""NVML readings of real GPU models, as `orchestrator.gpu.nvml` would return them.

The H200 is the reading of a lent machine (shared/reference/model-facts.md); the others use each card's
NVML-reported total (datasheet memory less the driver's reservation) and a typical idle free figure.
"""

from __future__ import annotations

from orchestrator.gpu.values import GpuInfo, GpuProcess, GpuReport

GIB = 1 << 30
MIB = 1 << 20


def gpu(
    name: str, cc: tuple[int, int], total_mib: int, free_mib: int, index: int = 0, **extra: object
) -> GpuInfo:
    uuid = f"GPU-{index:08x}-1111-2222-3333-{abs(hash(name)) % 10**12:012d}"
    return GpuInfo(index, name, uuid, cc, total_mib * MIB, free_mib * MIB, **extra)  # type: ignore[arg-type]


H200 = gpu("NVIDIA H200", (9, 0), 143771, 143156)
H100 = gpu("NVIDIA H100 80GB HBM3", (9, 0), 81559, 81008)
A100_80 = gpu("NVIDIA A100-SXM4-80GB", (8, 0), 81920, 81307)
A100_40 = gpu("NVIDIA A100-SXM4-40GB", (8, 0), 40960, 40337)
A10G = gpu("NVIDIA A10G", (8, 6), 23028, 22500)
L4 = gpu("NVIDIA L4", (8, 9), 23034, 22478)
T4 = gpu("Tesla T4", (7, 5), 15360, 14913)
B200 = gpu("NVIDIA B200", (10, 0), 183359, 182500)
BUSY_A10G = gpu("NVIDIA A10G", (8, 6), 23028, 22500 - 18 * 1024, processes=(GpuProcess(4242, 18 * GIB),))
MIG_A100 = gpu("NVIDIA A100-SXM4-80GB", (8, 0), 81920, 81307, mig_enabled=True)


def report(*gpus: GpuInfo, cuda: tuple[int, int] = (12, 4), driver: str = "550.54.14") -> GpuReport:
    """A driver report holding `gpus`, renumbered 0.. in order."""
    numbered = tuple(
        GpuInfo(i, g.name, g.uuid.replace(g.uuid[4:12], f"{i:08x}"), g.compute_capability, g.memory_total,
                g.memory_free, g.processes, g.mig_enabled)
        for i, g in enumerate(gpus)
    )  # fmt: skip
    return GpuReport(numbered, driver, cuda)


H200_REPORT = GpuReport((H200,), "580.159.04", (13, 0))
