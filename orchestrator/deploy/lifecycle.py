"""The library API of deployments: `up`, `down`, `status`, `logs`, `find_deployment`.

`up` runs settings -> launch plan -> preflight -> pull (if missing) -> create/start -> readiness, and on any
failure removes what it created (unless `keep_failed`), then raises `DeploymentError` with a diagnosis. It is
idempotent: our running container with the same settings hash is reused; a different hash is refused unless
`recreate`. The restart policy switches to `on-failure` only once the server is ready, so a crash during
start-up is diagnosed instead of restarted in a loop. The CLI (`orchestrator.cli.deploy_cmd`) only renders.

Helpers with one job each: `pull_follow` (pull progress and stall), `readiness` (the wait), `diagnosis`
(failure -> cause and fix), `interrupts` (what Ctrl-C left), `status` (`status`, re-exported here), `info` (the
values).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

from orchestrator.deploy.cache_growth import cache_meter
from orchestrator.deploy.diagnosis import deployment_error
from orchestrator.deploy.info import DeploymentInfo, DeploymentStatus, deployment_info
from orchestrator.deploy.interrupts import Trail, UpInterrupted, interrupted
from orchestrator.deploy.probes import probe_generate, probe_health
from orchestrator.deploy.pull_follow import follow_pull
from orchestrator.deploy.readiness import (
    Phase,
    ProgressEvent,
    StallLimits,
    StartupFailure,
    StartupTracker,
    wait_until_ready,
)
from orchestrator.deploy.status import status
from orchestrator.engines.diagnosis import redact
from orchestrator.errors import DeploymentError, DeploymentNotFoundError
from orchestrator.launch.labels import label
from orchestrator.launch.settings_label import SETTINGS_LABEL, changed_settings

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.launch.plan import LaunchPlan
    from orchestrator.runtime.containers import ContainerInfo, DockerRuntime, LogStream

__all__ = [
    "DeploymentInfo",
    "DeploymentStatus",
    "ProgressCallback",
    "UpInterrupted",
    "down",
    "find_deployment",
    "logs",
    "status",
    "up",
]

ProgressCallback = Callable[[ProgressEvent], None]
RESTART_RETRIES = 5


def _limits(settings: Settings) -> StallLimits:
    t = settings.timeouts
    return StallLimits(
        pull=t.stall_pull,
        download=t.stall_download,
        load=t.stall_load,
        warmup=t.stall_warmup,
        deadline=t.startup_deadline,
    )


class _DockerTarget:
    """Adapts one container of the runtime to readiness's `ContainerTarget`."""

    def __init__(self, runtime: DockerRuntime, container_id: str) -> None:
        self.runtime = runtime
        self.container_id = container_id

    def status(self) -> tuple[str, int | None]:
        info = self.runtime.inspect(self.container_id)
        return ("removed", None) if info is None else (info.status, info.exit_code)

    def follow_logs(self) -> LogStream:
        return self.runtime.follow_logs(self.container_id)


def _connect(runtime: DockerRuntime | None) -> DockerRuntime:
    if runtime is not None:
        return runtime
    from orchestrator.runtime.containers import connect

    return connect()


def up(
    settings: Settings,
    *,
    recreate: bool = False,
    keep_failed: bool = False,
    progress: ProgressCallback | None = None,
    runtime: DockerRuntime | None = None,
) -> DeploymentInfo:
    """Start the deployment `settings` describe and wait until it serves; see the module docstring.

    Ctrl-C raises `UpInterrupted` (a `KeyboardInterrupt`) whose `left` tells what the engine holds afterwards.
    """
    trail = Trail()
    try:
        return _up(settings, recreate, keep_failed, progress, runtime, trail)
    except UpInterrupted:
        raise
    except KeyboardInterrupt as exc:
        raise interrupted(trail) from exc


def _up(
    settings: Settings,
    recreate: bool,
    keep_failed: bool,
    progress: ProgressCallback | None,
    runtime: DockerRuntime | None,
    trail: Trail,
) -> DeploymentInfo:
    from orchestrator.deploy.capacity import nvml_gpu_count, with_predicted_capacity
    from orchestrator.deploy.doctor import read_host_gpus
    from orchestrator.deploy.preflight import gpus_requested, run_preflight
    from orchestrator.launch.plan import build_plan

    emit = progress or (lambda event: None)
    engine = _connect(runtime)
    started = time.monotonic()
    tracker = StartupTracker(
        _limits(settings), started, secrets=settings.secrets.values(), engine=settings.serving_engine
    )
    facts_first = engine.facts()
    gpus = read_host_gpus(settings, facts_first)
    gpu_count = facts_first.gpu_count if gpus_requested(settings.host.gpu_selection) else None
    plan = with_predicted_capacity(
        build_plan(settings, gpu_count=nvml_gpu_count(settings, gpus, gpu_count)), settings, gpus
    )
    for warning in plan.warnings:
        _emit_info(emit, tracker, f"warning: {warning}")
    check = run_preflight(settings, engine, facts=facts_first, gpus=gpus)
    action = "created"
    existing = check.existing
    if existing is not None:
        same = existing.labels.get(label("settings-hash")) == plan.settings_hash
        if same and existing.running and not recreate:
            return _attach(engine, existing, settings, tracker, emit, trail)
        if not same and not recreate and existing.running:
            raise DeploymentError(
                f"deployment {existing.name!r} is already running with different settings: "
                + _what_differs(existing, plan),
                cause="the requested settings differ from those of the running container",
                fix="rerun with --recreate to replace it (in-flight requests are drained first), "
                "or `orchestrator down` it, or pick another --name",
            )
        # Pull before removing: a failed pull keeps the old one.
        _ensure_image(engine, plan.image, tracker, emit, trail)
        _emit_info(emit, tracker, f"removing previous container {existing.name} ({existing.status})")
        trail.touch(engine, existing.name, "interrupted while replacing the previous container")
        _remove_deployment(engine, existing, settings.timeouts.stop_grace)
        trail.step = "the previous container was removed; no new one was created"
        action = "recreated" if existing.running else "replaced"
        if existing.running:
            from orchestrator.deploy.preflight import check_port

            check_port(settings.host.bind_address, settings.host.port)
    _ensure_image(engine, plan.image, tracker, emit, trail)
    return _launch(engine, plan, settings, tracker, emit, trail, keep_failed=keep_failed, action=action)


def _what_differs(existing: ContainerInfo, plan: LaunchPlan) -> str:
    """Each setting that differs, `path: old → new` (secrets only as set/unset), from the containers' labels."""
    changed = changed_settings(existing.labels.get(SETTINGS_LABEL), plan.labels[SETTINGS_LABEL])
    if changed:
        return "; ".join(changed)
    old_hash = existing.labels.get(label("settings-hash"), "?")
    why = (
        "it was started by an older orchestrator that did not record its settings"
        if changed is None
        else "no setting differs, but the launch plan does (e.g. another GPU count, or a newer orchestrator)"
    )
    return f"{why} (settings hash {old_hash} != {plan.settings_hash})"


def _emit_info(emit: ProgressCallback, tracker: StartupTracker, message: str) -> None:
    now = time.monotonic()
    emit(ProgressEvent("info", tracker.phase, now - tracker.started, now - tracker.phase_started, message))


def _attach(
    engine: DockerRuntime,
    existing: ContainerInfo,
    settings: Settings,
    tracker: StartupTracker,
    emit: ProgressCallback,
    trail: Trail,
) -> DeploymentInfo:
    """Same settings, container running: nothing to do if it serves; otherwise wait for it like a fresh start."""
    info = deployment_info(existing)
    trail.touch(engine, existing.name, "interrupted while waiting for it", predates=True)
    served = settings.serving_engine
    if probe_health(info.endpoint, served.routes.health) == 200:
        ok, note = probe_generate(
            info.endpoint, served.readiness_probe, api_key=settings.secrets.api_key_text()
        )
        if ok:
            tracker.enter(Phase.READY, time.monotonic())
            _emit_info(
                emit, tracker, f"{info.name} is already running with these settings at {info.endpoint}"
            )
            return replace(info, action="unchanged")
        raise DeploymentError(
            f"{info.name} is running with these settings but a one-token request fails: {note}",
            cause="the running server answers /health but not generation"
            + (" with the configured API key" if " 401" in note else ""),
            fix="secret values are not part of the settings hash: after changing secrets.api_key or "
            "secrets.hf_token rerun with --recreate; otherwise check `orchestrator logs`",
        )
    try:
        seconds = wait_until_ready(
            _DockerTarget(engine, existing.id),
            info.endpoint,
            tracker,
            api_key=settings.secrets.api_key_text(),
            on_event=emit,
        )
    except StartupFailure as failure:
        raise deployment_error(failure, settings) from failure
    return replace(info, action="attached", ready_seconds=seconds)


def _ensure_image(
    engine: DockerRuntime, image: str, tracker: StartupTracker, emit: ProgressCallback, trail: Trail
) -> None:
    """Pull only when the image is missing locally (progress and stall limit: `pull_follow`)."""
    if engine.image_exists(image):
        return
    before = trail.left
    trail.left = f"the pull of {image} was abandoned; no container was created"
    follow_pull(engine, image, tracker, emit)
    trail.left = before


def _launch(
    engine: DockerRuntime,
    plan: LaunchPlan,
    settings: Settings,
    tracker: StartupTracker,
    emit: ProgressCallback,
    trail: Trail,
    *,
    keep_failed: bool,
    action: str,
) -> DeploymentInfo:
    now = time.monotonic()
    tracker.phase_started = tracker.last_activity = now
    emit(
        ProgressEvent("phase", Phase.STARTING, now - tracker.started, 0.0, f"creating {plan.container_name}")
    )
    trail.touch(engine, plan.container_name, "interrupted while creating it")
    try:
        container_id = engine.create(plan)  # removes its secret files itself when it fails
    except KeyboardInterrupt:
        # The engine may have created it, or may still be creating it (our name, checked free by preflight):
        # `interrupted` waits for an in-flight creation to land and removes it, then reports what is left.
        trail.creating = True
        raise
    trail.step = "interrupted while it was starting"
    try:
        engine.start(
            container_id,
            name=plan.container_name,
            port=settings.host.port,
            bind_address=settings.host.bind_address,
        )
        endpoint = settings.endpoint
        seconds = wait_until_ready(
            _DockerTarget(engine, container_id),
            endpoint,
            tracker,
            api_key=settings.secrets.api_key_text(),
            on_event=emit,
            cache_size=cache_meter(settings.cache_dir),
        )
        engine.set_restart_policy(container_id, "on-failure", RESTART_RETRIES)
    except StartupFailure as failure:
        error = deployment_error(failure, settings)
        _cleanup(engine, container_id, plan.container_name, keep_failed, emit, tracker, trail)
        raise error from failure
    except BaseException as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        _cleanup(engine, container_id, plan.container_name, keep_failed, emit, tracker, trail, interrupted)
        raise
    container = engine.inspect(container_id)
    if container is None:
        raise DeploymentError(f"container {plan.container_name} vanished right after becoming ready")
    return deployment_info(container, action=action, ready_seconds=seconds)


def _cleanup(
    engine: DockerRuntime,
    container_id: str,
    name: str,
    keep_failed: bool,
    emit: ProgressCallback,
    tracker: StartupTracker,
    trail: Trail,
    interrupted: bool = False,
) -> None:
    if keep_failed:
        _emit_info(emit, tracker, f"keeping failed container {name} (--keep-failed); remove it with down")
        trail.step = "interrupted while it was starting; kept (--keep-failed)"
        return
    trail.step, trail.removing = "interrupted again while removing the half-started one", True
    if interrupted:  # a failure has said its last word already; an interrupt is told what happens now
        _emit_info(emit, tracker, f"interrupted: removing the half-started container {name}")
    with contextlib.suppress(Exception):  # still there: `interrupted` or the error says so
        engine.remove(container_id, force=True)
    trail.step, trail.removing = "interrupted while it was starting; the half-started one was removed", False
    engine.remove_secrets(name)


def _remove_deployment(engine: DockerRuntime, container: ContainerInfo, grace: float | None) -> None:
    timeout = grace if grace is not None else float(container.stop_timeout or 120)
    if container.running:
        engine.stop(container.id, timeout=timeout)
    engine.remove(container.id, force=True)
    engine.remove_secrets(container.labels.get(label("name"), container.name))


def down(
    name: str | None = None,
    *,
    all_deployments: bool = False,
    grace: float | None = None,
    runtime: DockerRuntime | None = None,
) -> list[str]:
    """Stop (SIGTERM, drain up to `grace` s, then kill) and remove; the names removed (none is not an error).

    `grace` defaults to the container's own stop timeout, set from `timeouts.stop_grace` at `up`.
    The weights cache (a bind mount) is kept.
    """
    if name is None and not all_deployments:
        raise ValueError("down() needs a deployment name or all_deployments=True")
    engine = _connect(runtime)
    containers = engine.list_managed(None if all_deployments else name)
    if not all_deployments and not containers and name is not None:
        # Our label may be missing if someone renamed things; look the name up directly.
        found = engine.inspect(name)
        containers = [found] if found is not None and found.managed else []
    with ThreadPoolExecutor(max_workers=max(1, len(containers))) as pool:
        list(pool.map(lambda c: _remove_deployment(engine, c, grace), containers))
    return [c.labels.get(label("name"), c.name) for c in containers]


def logs(
    name: str,
    *,
    follow: bool = False,
    tail: int | None = None,
    secrets: tuple[str, ...] = (),
    runtime: DockerRuntime | None = None,
) -> Iterator[str]:
    """The deployment's log lines with secrets masked; following ends when the container stops."""
    engine = _connect(runtime)
    container = engine.inspect(name)
    if container is None or not container.managed:
        raise DeploymentNotFoundError(
            f"no deployment named {name!r}",
            cause="no container of ours has this name",
            fix="run `orchestrator status` to list deployments, then pass one of their names to --name",
        )
    lines = (
        engine.follow_logs(container.id, tail=tail) if follow else iter(engine.logs(container.id, tail=tail))
    )
    return (redact(line, secrets) for line in lines)


def find_deployment(name: str, *, runtime: DockerRuntime | None = None) -> DeploymentInfo | None:
    """Our deployment called `name` (any state), with `.endpoint` its API base URL; None if there is none."""
    engine = _connect(runtime)
    container = engine.inspect(name)
    if container is None or not container.managed:
        return None
    return deployment_info(container)
