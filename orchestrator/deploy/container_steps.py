"""Steps every start-up shares, one container or a replica set: stall limits, image present, the wait target.

`lifecycle` (one container) and `replica_up` (replicas behind a balancer) both use them, so the two agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from orchestrator.deploy.interrupts import Trail
from orchestrator.deploy.pull_follow import follow_pull
from orchestrator.deploy.readiness import ProgressEvent, StallLimits, StartupTracker
from orchestrator.launch.labels import label

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.runtime.containers import ContainerInfo, DockerRuntime, LogStream

__all__ = ["DockerTarget", "connect_runtime", "emit_info", "ensure_image", "remove_container", "stall_limits"]

ProgressCallback = Callable[[ProgressEvent], None]


def stall_limits(settings: Settings) -> StallLimits:
    t = settings.timeouts
    return StallLimits(
        pull=t.stall_pull,
        download=t.stall_download,
        load=t.stall_load,
        warmup=t.stall_warmup,
        deadline=t.startup_deadline,
    )


class DockerTarget:
    """Adapts one container of the runtime to readiness's `ContainerTarget`."""

    def __init__(self, runtime: DockerRuntime, container_id: str) -> None:
        self.runtime = runtime
        self.container_id = container_id

    def status(self) -> tuple[str, int | None]:
        info = self.runtime.inspect(self.container_id)
        return ("removed", None) if info is None else (info.status, info.exit_code)

    def follow_logs(self) -> LogStream:
        return self.runtime.follow_logs(self.container_id)


def connect_runtime(runtime: DockerRuntime | None) -> DockerRuntime:
    if runtime is not None:
        return runtime
    from orchestrator.runtime.containers import connect

    return connect()


def emit_info(emit: ProgressCallback, tracker: StartupTracker, message: str, source: str = "") -> None:
    now = time.monotonic()
    emit(
        ProgressEvent(
            "info", tracker.phase, now - tracker.started, now - tracker.phase_started, message, source=source
        )
    )


def ensure_image(
    engine: DockerRuntime, image: str, tracker: StartupTracker, emit: ProgressCallback, trail: Trail
) -> None:
    """Pull only when the image is missing locally (progress and stall limit: `pull_follow`)."""
    if engine.image_exists(image):
        return
    before = trail.left
    trail.left = f"the pull of {image} was abandoned; no container was created"
    follow_pull(engine, image, tracker, emit)
    trail.left = before


def remove_container(engine: DockerRuntime, container: ContainerInfo, grace: float | None) -> None:
    """Stop (SIGTERM, drain up to `grace` s, else the container's own stop timeout), remove, drop its secrets.

    Secret files live under the container's own name: a replica's is not its deployment's name."""
    timeout = grace if grace is not None else float(container.stop_timeout or 120)
    if container.running:
        engine.stop(container.id, timeout=timeout)
    engine.remove(container.id, force=True)
    if container.labels.get(label("role")) == "replica":
        engine.remove_secrets(container.name)
    else:
        engine.remove_secrets(container.labels.get(label("name"), container.name))
