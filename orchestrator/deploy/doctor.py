"""`orchestrator doctor`: every check of the host a deployment needs, as verdicts, before anything slow starts.

Facts are gathered once (the Docker Engine's `info`/`version`, one NVML reading, statvfs), then the checks are
pure functions of them, so tests drive them with recorded values. `up`'s preflight runs the same resource
checks (`resource_verdicts`) after its own engine, runtime, port and cache checks: no pull, no network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from orchestrator.deploy.capacity import PlanReport, plan_report, weights_size
from orchestrator.deploy.gpu_checks import gpu_verdicts
from orchestrator.deploy.gpu_count import remote_docker_host
from orchestrator.deploy.host_checks import (
    cache_dir_verdict,
    docker_verdict,
    gpus_requested,
    port_verdict,
    runtime_verdict,
)
from orchestrator.deploy.resource_checks import disk_verdict, shm_verdict
from orchestrator.deploy.verdicts import DoctorReport, Verdict
from orchestrator.gpu.values import GpuReport

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.runtime.values import ContainerInfo, EngineFacts

__all__ = [
    "DOCKER_TIMEOUT",
    "EngineReader",
    "GpuReader",
    "plan_for_host",
    "read_host_gpus",
    "resource_verdicts",
    "run_doctor",
]

DOCKER_TIMEOUT = 5.0
"""Seconds the doctor waits for the Docker Engine (up waits longer: it has work to do)."""
GpuReader = Callable[[], GpuReport]
NOT_READ = "GPUs not read: none asked for (host.gpus = 'none') or the engine is on another host"


def _default_reader() -> GpuReport:
    from orchestrator.gpu.nvml import read_gpus_if_driver

    return read_gpus_if_driver()


def read_host_gpus(
    settings: Settings, facts: EngineFacts | None, reader: GpuReader | None = None
) -> GpuReport | None:
    """NVML's report when GPUs are asked for and the engine runs here (None otherwise: nothing to read)."""
    if not gpus_requested(settings.host.gpu_selection):
        return None
    if (facts is not None and not facts.local) or (facts is None and remote_docker_host()):
        return None
    return (reader or _default_reader)()


def resource_verdicts(
    settings: Settings,
    facts: EngineFacts | None,
    plan: PlanReport,
    *,
    read: bool,
    image_present: bool | None,
) -> list[Verdict]:
    """GPU, shared-memory and disk verdicts (`read`: the GPUs were read, else they belong to another host)."""
    version = settings.engine.version
    hardware = settings.serving_engine.hardware.facts_for(version) if version else None
    remote = gpus_requested(settings.host.gpu_selection) and not read
    return [
        *gpu_verdicts(settings, plan, remote=remote),
        shm_verdict(settings, plan.num_shard, hardware),
        disk_verdict(
            settings,
            weights_size(settings),
            hardware,
            image_present=image_present,
            docker_root=facts.root_dir if facts is not None else None,
        ),
    ]


class EngineReader(Protocol):
    """The read-only calls the doctor makes of an engine (the SDK runtime and `LocalEngine` both have them)."""

    def facts(self) -> EngineFacts: ...

    def image_exists(self, image: str) -> bool: ...

    def inspect(self, id_or_name: str) -> ContainerInfo | None: ...


def _engine(runtime: EngineReader | None) -> tuple[EngineReader | None, EngineFacts | None, str | None]:
    """The engine and its facts, or the reason there are none (no engine answering, no SDK for a remote one).

    A local engine is read over its Unix socket with the standard library (`LocalEngine`): fast, and no SDK."""
    try:
        if runtime is None:
            from orchestrator.runtime.engine_api import LocalEngine, local_socket

            path = local_socket()
            if path is not None:
                runtime = LocalEngine(path, timeout=DOCKER_TIMEOUT)
            else:
                from orchestrator.runtime.containers import connect

                runtime = connect(timeout=DOCKER_TIMEOUT)
        return runtime, runtime.facts(), None
    except ImportError as exc:
        return None, None, f"the docker Python package is missing ({exc}). Fix: pip install docker"
    except Exception as exc:  # RuntimeUnavailableError and anything the SDK lets through
        return None, None, str(exc)


def run_doctor(
    settings: Settings, *, runtime: EngineReader | None = None, reader: GpuReader | None = None
) -> DoctorReport:
    """Every check, in order: Docker, NVIDIA runtime, GPUs, VRAM and warm-up, /dev/shm, disk, port, cache dir."""
    runtime, facts, error = _engine(runtime)
    report = read_host_gpus(settings, facts, reader)
    plan = plan_report(settings, report or GpuReport(error=NOT_READ))
    image_present = existing = None
    if runtime is not None:
        try:
            image_present = runtime.image_exists(settings.engine.image)
            existing = runtime.inspect(settings.host.container_name)
        except Exception:  # an engine that stops answering here was reported above
            pass
    verdicts = [
        docker_verdict(facts, error),
        runtime_verdict(settings.host, facts),
        *resource_verdicts(settings, facts, plan, read=report is not None, image_present=image_present),
        port_verdict(settings, existing),
        cache_dir_verdict(settings.cache_dir),
    ]
    return DoctorReport.of(verdicts, plan.to_json())


def plan_for_host(settings: Settings, reader: GpuReader | None = None) -> PlanReport:
    """`orchestrator plan`: the capacity plan on this host's GPUs (read when asked for and the engine is local)."""
    return plan_report(settings, read_host_gpus(settings, None, reader) or GpuReport(error=NOT_READ))
