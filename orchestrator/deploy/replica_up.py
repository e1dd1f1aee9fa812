"""`up` for `host.replicas` > 1: N engine containers and one HAProxy container, all or nothing.

Same contract as the single-container `up` (`lifecycle`): check everything first, pull what is missing, start,
wait until every replica is ready (in parallel, progress per replica), then the balancer; on failure or Ctrl-C
every container this `up` created is removed (`SetTrail`) and the error or `UpInterrupted` says so. Our running
set with the same settings is left alone; a different one is refused unless `recreate`, which replaces the
replicas one at a time behind the running balancer when the balancer itself is unchanged (`rollout`), and the
whole set otherwise (not zero-downtime: said in a progress line).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from orchestrator.deploy.container_steps import (
    connect_runtime,
    emit_info,
    ensure_image,
    remove_container,
    stall_limits,
)
from orchestrator.deploy.diagnosis import deployment_error
from orchestrator.deploy.info import DeploymentInfo, deployment_info
from orchestrator.deploy.interrupts import UpInterrupted
from orchestrator.deploy.readiness import Phase, ProgressEvent, StartupFailure, StartupTracker
from orchestrator.deploy.replica_set_state import SetView, differs, view_of
from orchestrator.deploy.replica_wait import (
    RESTART_RETRIES,
    SetTrail,
    start_replica,
    wait_balancer,
    wait_replicas,
)
from orchestrator.errors import DeploymentError, RuntimeUnavailableError

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.deploy.weights_step import WeightsPolicy
    from orchestrator.launch.replicas import ReplicaSet
    from orchestrator.runtime.containers import DockerRuntime

__all__ = ["up_replicas"]

ProgressCallback = Callable[[ProgressEvent], None]


def up_replicas(
    settings: Settings,
    *,
    recreate: bool = False,
    keep_failed: bool = False,
    progress: ProgressCallback | None = None,
    runtime: DockerRuntime | None = None,
    weights: WeightsPolicy | None = None,
) -> DeploymentInfo:
    """Start the replica set `settings` describe and wait until it serves through the balancer. `weights`: as
    for one container (`lifecycle.up`): pulled once into the shared cache, every replica then starts offline."""
    trail = SetTrail()
    try:
        return _up(settings, recreate, keep_failed, progress or (lambda event: None), runtime, trail, weights)
    except UpInterrupted:
        raise
    except KeyboardInterrupt as exc:
        raise trail.interrupted() from exc


def _weights_commit(
    settings: Settings,
    weights: WeightsPolicy | None,
    engine: DockerRuntime,
    tracker: StartupTracker,
    emit: ProgressCallback,
    trail: SetTrail,
) -> str | None:
    """The weights step of `up` for the whole set, once (the replicas share the cache): the commit every replica
    serves offline, or None when the engines download by themselves; with a lock, every drift refused first."""
    if weights is None:
        return None
    from orchestrator.deploy.weights_step import check_locked, prepare_weights
    from orchestrator.launch.plan import build_plan

    served, cache_drifts = prepare_weights(settings, weights, lambda text: emit_info(emit, tracker, text))
    if weights.lock is not None:
        image = build_plan(settings).image
        ensure_image(engine, image, tracker, emit, trail)
        check_locked(settings, weights, cache_drifts, engine.image_identity(image))
    return served.commit if served else None


def _up(
    settings: Settings,
    recreate: bool,
    keep_failed: bool,
    emit: ProgressCallback,
    runtime: DockerRuntime | None,
    trail: SetTrail,
    weights: WeightsPolicy | None = None,
) -> DeploymentInfo:
    from orchestrator.deploy.preflight import check_cache_dir, check_gpus, check_name, gpus_requested
    from orchestrator.launch.replicas import replica_set

    engine = connect_runtime(runtime)
    trail.engine = engine
    tracker = StartupTracker(stall_limits(settings), time.monotonic(), engine=settings.serving_engine)
    facts = engine.facts()
    gpu_count = facts.gpu_count if gpus_requested(settings.host.gpu_selection) else None
    commit = _weights_commit(settings, weights, engine, tracker, emit, trail)
    plan = replica_set(settings, gpu_count=gpu_count, offline_commit=commit)
    for warning in (*plan.replicas[0].plan.warnings, *plan.warnings):
        emit_info(emit, tracker, f"warning: {warning}")
    for name in (plan.name, *(r.plan.container_name for r in plan.replicas)):
        check_name(engine, name)
    check_gpus(settings.host, facts)
    check_cache_dir(settings.cache_dir)
    current = view_of(engine.list_managed(plan.name))
    action = "created"
    if current.containers:
        if current.matches(plan) and not recreate:
            emit_info(emit, tracker, f"{plan.name} is already running with these settings")
            return _result(engine, current.balancer_id(), "unchanged", None)
        if not recreate and current.running:
            raise DeploymentError(
                f"deployment {plan.name!r} is already running with different settings: {differs(current, plan)}",
                cause="the requested settings differ from those of the running containers",
                fix="rerun with --recreate (replicas are replaced one at a time when the balancer is unchanged), "
                "or `orchestrator down` it, or pick another --name",
            )
        if current.rollable_to(plan):
            from orchestrator.deploy.rollout import roll

            roll(engine, current, plan, settings, emit)
            return _result(engine, current.balancer_id(), "rolled", None)
        ensure_image(engine, plan.replicas[0].plan.image, tracker, emit, trail)
        emit_info(
            emit, tracker, f"replacing all of {plan.name} at once (the balancer changes): not zero-downtime"
        )
        trail.left = f"interrupted while removing the previous containers of {plan.name}"
        _remove_all(engine, current, settings.timeouts.stop_grace)
        action = "recreated"
    _check_ports(settings, plan)
    ensure_image(engine, plan.replicas[0].plan.image, tracker, emit, trail)
    if not engine.image_exists(plan.balancer.image):
        raise RuntimeUnavailableError(
            f"host.balancer_image = {plan.balancer.image!r} is not on this engine. Fix: build it offline with "
            "`bash compose/build-haproxy-image.sh`, or point host.balancer_image at an HAProxy 2.6+ image."
        )
    trail.left = "nothing was created"
    return _start_set(engine, plan, settings, emit, trail, keep_failed=keep_failed, action=action)


def _check_ports(settings: Settings, plan: ReplicaSet) -> None:
    from orchestrator.deploy.preflight import check_port

    for port in plan.ports.all():
        check_port(settings.host.bind_address, port)


def _remove_all(engine: DockerRuntime, current: SetView, grace: float) -> None:
    with ThreadPoolExecutor(max_workers=max(1, len(current.containers))) as pool:
        list(pool.map(lambda c: remove_container(engine, c, grace), current.containers))


def _start_set(
    engine: DockerRuntime,
    plan: ReplicaSet,
    settings: Settings,
    emit: ProgressCallback,
    trail: SetTrail,
    *,
    keep_failed: bool,
    action: str,
) -> DeploymentInfo:
    from orchestrator.runtime.balancer import create_balancer

    started_at = time.monotonic()
    try:
        started = {}
        for replica in plan.replicas:
            emit(ProgressEvent("phase", Phase.STARTING, 0.0, 0.0, f"creating {replica.plan.container_name}",
                               source=f"replica {replica.index}"))  # fmt: skip
            started[replica.index] = start_replica(engine, replica, settings, trail)
        wait_replicas(engine, started, plan.replicas, settings, emit)
        for container_id in started.values():
            engine.set_restart_policy(container_id, "on-failure", RESTART_RETRIES)
        trail.created.append(plan.balancer.container_name)
        balancer_id = create_balancer(engine, plan.balancer)
        engine.start(balancer_id, name=plan.balancer.container_name, port=plan.ports.endpoint,
                     bind_address=settings.host.bind_address)  # fmt: skip
        wait_balancer(engine, balancer_id, plan.balancer, settings.serving_engine.routes.health,
                      expect_up=len(plan.replicas))  # fmt: skip
        engine.set_restart_policy(balancer_id, "on-failure", RESTART_RETRIES)
    except StartupFailure as failure:
        error = deployment_error(failure, settings)
        _cleanup(engine, trail, keep_failed)
        raise error from failure
    except KeyboardInterrupt:
        raise  # SetTrail.interrupted removes everything created
    except BaseException:
        _cleanup(engine, trail, keep_failed)
        raise
    return _result(engine, balancer_id, action, time.monotonic() - started_at)


def _cleanup(engine: DockerRuntime, trail: SetTrail, keep_failed: bool) -> None:
    if keep_failed:
        return
    for name in trail.created:
        with contextlib.suppress(Exception):
            engine.remove(name, force=True)
        engine.remove_secrets(name)


def _result(
    engine: DockerRuntime, balancer_id: str | None, action: str, seconds: float | None
) -> DeploymentInfo:
    container = engine.inspect(balancer_id) if balancer_id else None
    if container is None:
        raise DeploymentError("the balancer container vanished right after becoming ready")
    return deployment_info(container, action=action, ready_seconds=seconds)
