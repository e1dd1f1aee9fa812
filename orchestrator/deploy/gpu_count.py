"""How many GPUs `host.gpus = all` gives a local engine, for the launch plan's `--num-shard` (`up --dry-run`).

Kept apart from the doctor so the dry run imports nothing else: on a host without NVIDIA device files it does
not even load NVML (no driver, no GPUs to count), so it costs nothing where there is no GPU.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.gpu.values import GpuReport

__all__ = ["gpu_count_for_plan", "remote_docker_host"]


def remote_docker_host() -> bool:
    """DOCKER_HOST names an engine on another machine (its GPUs are not ours to read)."""
    host = os.environ.get("DOCKER_HOST", "")
    return bool(host) and not host.startswith("unix://")


def _read_if_driver() -> GpuReport | None:
    """NVML's report, or None without a driver device (then NVML is not even loaded)."""
    from orchestrator.gpu.devices import driver_present

    if not driver_present():
        return None
    from orchestrator.gpu.nvml import read_gpus

    return read_gpus()


def gpu_count_for_plan(settings: Settings) -> int | None:
    """The GPUs NVML counts for `host.gpus = all` on a local engine; None when unknown (the plan then warns)."""
    if settings.host.gpu_selection.kind != "all" or remote_docker_host():
        return None
    report = _read_if_driver()
    return len(report.gpus) if report is not None and report.available else None
