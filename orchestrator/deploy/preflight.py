"""Checks `up` makes before touching anything: engine, NVIDIA runtime, port, cache directory, name clash, and
`orchestrator doctor`'s GPU, VRAM, warm-up, /dev/shm and disk checks.

Each check raises `RuntimeUnavailableError` (exit 3) whose message names what was checked, what was found and
the next step. The cache directory is created when missing (with the invoking user as owner: left to the
engine, it would be created by root) and must be writable, since TGI downloads the weights into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestrator.deploy.host_checks import (
    NVIDIA_HELP,
    check_cache_dir,
    check_gpus,
    check_port,
    gpus_requested,
    held_by,
)
from orchestrator.errors import RuntimeUnavailableError
from orchestrator.gpu.values import GpuReport

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.runtime.containers import ContainerInfo, DockerRuntime, EngineFacts

__all__ = [
    "NVIDIA_HELP",
    "PreflightResult",
    "check_cache_dir",
    "check_gpus",
    "check_name",
    "check_port",
    "check_resources",
    "gpus_requested",
    "run_preflight",
]


@dataclass(frozen=True)
class PreflightResult:
    """What the checks learned: engine facts and the deployment already holding our name, if any."""

    facts: EngineFacts
    existing: ContainerInfo | None


def check_name(runtime: DockerRuntime, name: str) -> ContainerInfo | None:
    """Our deployment already using `name`, None if the name is free; a foreign container with it is an error."""
    existing = runtime.inspect(name)
    if existing is not None and not existing.managed:
        raise RuntimeUnavailableError(
            f"host.container_name = {name!r}: a container with this name exists that orchestrator did not "
            f"create (image {existing.image}, {existing.status}). Fix: choose another name with --name "
            f"(ORCHESTRATOR_HOST__CONTAINER_NAME) or remove it yourself (`docker rm -f {name}`)."
        )
    return existing


def run_preflight(
    settings: Settings,
    runtime: DockerRuntime,
    *,
    facts: EngineFacts | None = None,
    gpus: GpuReport | None = None,
) -> PreflightResult:
    """Every check in order; the port check is skipped when our same-named running deployment holds the port,
    and the GPU, shared-memory and disk checks (`orchestrator doctor`'s) when it runs at all (it holds the GPU).

    `gpus` is NVML's reading when the caller has one (None: read here when needed).
    """
    facts = facts or runtime.facts()
    existing = check_name(runtime, settings.host.container_name)
    check_gpus(settings.host, facts)
    check_cache_dir(settings.cache_dir)
    if not held_by(existing, settings):
        check_port(settings.host.bind_address, settings.host.port)
    if existing is None or not existing.running:
        check_resources(settings, runtime, facts, gpus)
    return PreflightResult(facts=facts, existing=existing)


def check_resources(
    settings: Settings, runtime: DockerRuntime, facts: EngineFacts, gpus: GpuReport | None
) -> None:
    """The doctor's GPU, VRAM, warm-up, /dev/shm and disk checks; every fail at once in one error (exit 3)."""
    from orchestrator.deploy.capacity import plan_report
    from orchestrator.deploy.doctor import NOT_READ, read_host_gpus, resource_verdicts

    report = gpus if gpus is not None else read_host_gpus(settings, facts)
    plan = plan_report(settings, report or GpuReport(error=NOT_READ))
    present = runtime.image_exists(settings.engine.image)
    failed = [
        verdict
        for verdict in resource_verdicts(
            settings, facts, plan, read=report is not None, image_present=present
        )
        if verdict.status == "fail"
    ]
    if failed:
        raise RuntimeUnavailableError(
            "the host cannot serve these settings (`orchestrator doctor` shows every check):\n"
            + "\n".join(f"  - {v.check}: {v.summary}. Cause: {v.cause}. Fix: {v.fix}." for v in failed)
        )
