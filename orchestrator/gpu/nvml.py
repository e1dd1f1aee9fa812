"""The one module that talks to NVML (package `nvidia-ml-py`, module `pynvml`, imported on first use).

`read_gpus()` never raises for a host without the package, the driver library or a loaded driver: it returns a
`GpuReport` whose `error` says which, so `doctor` can report "no NVIDIA driver" instead of crashing. One NVML
session per call; each reading that a GPU does not support (MIG on consumer cards, process lists in some
containers) is left unknown rather than failing the whole report.
"""

from __future__ import annotations

import contextlib
from typing import Any

from orchestrator.gpu.devices import DRIVER_DEVICES, driver_present
from orchestrator.gpu.values import GpuInfo, GpuProcess, GpuReport

__all__ = ["DRIVER_DEVICES", "NO_DRIVER", "NO_PACKAGE", "read_gpus", "read_gpus_if_driver"]

NO_PACKAGE = (
    "the nvidia-ml-py package is not installed, so the GPUs cannot be read "
    "(pip install 'tgi-orchestrator[gpu]' or pip install nvidia-ml-py)"
)
NO_DRIVER = "no NVIDIA driver"


def read_gpus_if_driver() -> GpuReport:
    """`read_gpus()`, or at once "no NVIDIA driver" where no driver device exists (spares loading NVML, which
    costs tens of milliseconds, on a host without a GPU)."""
    if not driver_present(DRIVER_DEVICES):
        return GpuReport(error=f"{NO_DRIVER}: none of {', '.join(DRIVER_DEVICES)} exists")
    return read_gpus()


def read_gpus() -> GpuReport:
    """Every GPU NVML sees, with the driver's versions; an explained empty report where NVML cannot answer."""
    try:
        import pynvml
    except ImportError:
        return GpuReport(error=NO_PACKAGE)
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return GpuReport(error=f"{NO_DRIVER}: NVML did not start ({_text(exc)})")
    try:
        return _read(pynvml)
    except pynvml.NVMLError as exc:
        return GpuReport(error=f"NVML failed while reading the GPUs: {_text(exc)}")
    finally:
        with contextlib.suppress(pynvml.NVMLError):
            pynvml.nvmlShutdown()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _read(nvml: Any) -> GpuReport:
    cuda = nvml.nvmlSystemGetCudaDriverVersion_v2()
    gpus = tuple(_gpu(nvml, index) for index in range(nvml.nvmlDeviceGetCount()))
    return GpuReport(
        gpus=gpus,
        driver_version=_text(nvml.nvmlSystemGetDriverVersion()),
        cuda_version=(cuda // 1000, (cuda % 1000) // 10),
    )


def _gpu(nvml: Any, index: int) -> GpuInfo:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
    return GpuInfo(
        index=index,
        name=_text(nvml.nvmlDeviceGetName(handle)),
        uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
        compute_capability=(int(major), int(minor)),
        memory_total=int(memory.total),
        memory_free=int(memory.free),
        processes=_processes(nvml, handle),
        mig_enabled=_mig(nvml, handle),
    )


def _processes(nvml: Any, handle: Any) -> tuple[GpuProcess, ...]:
    found: dict[int, GpuProcess] = {}
    for reader in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        try:
            running = getattr(nvml, reader)(handle)
        except nvml.NVMLError:
            continue
        for process in running:
            used = getattr(process, "usedGpuMemory", None)
            found.setdefault(int(process.pid), GpuProcess(int(process.pid), int(used) if used else None))
    return tuple(found.values())


def _mig(nvml: Any, handle: Any) -> bool | None:
    try:
        current, _pending = nvml.nvmlDeviceGetMigMode(handle)
    except nvml.NVMLError:
        return None  # not supported (not an A100/H100-class GPU) or not readable
    return bool(current == nvml.NVML_DEVICE_MIG_ENABLE)
