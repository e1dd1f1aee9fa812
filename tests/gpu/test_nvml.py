"""The one NVML module: real NVML on this machine (no driver), and its translation of recorded NVML answers."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import pytest

from orchestrator.gpu import nvml
from orchestrator.gpu.nvml import NO_DRIVER, NO_PACKAGE, read_gpus

pynvml = pytest.importorskip("pynvml", reason="nvidia-ml-py is in the gpu extra")


def test_this_machine_has_no_driver_and_that_is_a_finding_not_a_crash() -> None:
    report = read_gpus()
    assert not report.available
    assert report.error is not None and report.error.startswith(NO_DRIVER)
    assert report.gpus == () and report.to_json()["available"] is False


def test_without_driver_devices_nvml_is_not_even_loaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(nvml, "DRIVER_DEVICES", (str(tmp_path / "nvidiactl"),))
    monkeypatch.setitem(sys.modules, "pynvml", None)  # would be NO_PACKAGE if it were imported
    quick = nvml.read_gpus_if_driver()
    assert quick.error is not None and quick.error.startswith(NO_DRIVER) and "nvidiactl" in quick.error
    (tmp_path / "nvidiactl").write_text("")
    assert nvml.read_gpus_if_driver().error == NO_PACKAGE  # a device exists: NVML is asked


def test_no_package_is_its_own_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import raises ImportError
    assert read_gpus().error == NO_PACKAGE


class FakeNvml:
    """Answers like nvidia-ml-py 13 did on the lent H200 (model-facts.md), plus a consumer card without MIG."""

    NVMLError = pynvml.NVMLError
    NVML_DEVICE_MIG_ENABLE = 1

    def __init__(self) -> None:
        self.shut = False

    def nvmlInit(self) -> None: ...

    def nvmlShutdown(self) -> None:
        self.shut = True

    def nvmlSystemGetDriverVersion(self) -> str:
        return "580.159.04"

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return 13000

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> Any:
        return "NVIDIA H200" if handle == 0 else b"NVIDIA L4"

    def nvmlDeviceGetUUID(self, handle: int) -> str:
        return f"GPU-244b6957-0000-0000-0000-00000000000{handle}"

    def nvmlDeviceGetCudaComputeCapability(self, handle: int) -> tuple[int, int]:
        return (9, 0) if handle == 0 else (8, 9)

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        gib = 1 << 30
        return SimpleNamespace(total=int(140.40 * gib), free=int(139.80 * gib), used=int(0.60 * gib))

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[Any]:
        return [] if handle == 0 else [SimpleNamespace(pid=77, usedGpuMemory=None)]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: int) -> list[Any]:
        raise pynvml.NVMLError_NotSupported()

    def nvmlDeviceGetMigMode(self, handle: int) -> list[int]:
        if handle == 1:
            raise pynvml.NVMLError_NotSupported()
        return [0, 0]


def test_recorded_answers_become_plain_values(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    report = read_gpus()
    assert report.available and fake.shut
    assert report.driver_version == "580.159.04" and report.cuda_version == (13, 0)
    h200, l4 = report.gpus
    assert (h200.name, h200.compute_capability, h200.mig_enabled, h200.processes) == (
        "NVIDIA H200",
        (9, 0),
        False,
        (),
    )
    assert round(h200.memory_total / (1 << 30), 2) == 140.40
    assert l4.name == "NVIDIA L4" and l4.mig_enabled is None  # bytes decoded; MIG not supported
    assert [(p.pid, p.used_bytes) for p in l4.processes] == [(77, None)]


def test_an_nvml_error_while_reading_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNvml()

    def broken(handle: int) -> Any:
        raise pynvml.NVMLError_GpuIsLost()

    fake.nvmlDeviceGetMemoryInfo = broken  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    report = read_gpus()
    assert not report.available and "NVML failed while reading" in (report.error or "")
    assert fake.shut
    assert nvml.read_gpus is read_gpus
