"""Starting containers of a replica set and waiting for them: replicas in parallel, then the balancer.

Each replica is waited for like a single container (`readiness.wait_until_ready`, its own tracker), in a daemon
thread, its progress events tagged `replica i`; the first failure cancels the other waits. The balancer is ready
when its exporter reports every replica UP and the endpoint answers the engine's health route.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from orchestrator.config.urls import endpoint_for
from orchestrator.deploy.balancer_state import balancer_servers
from orchestrator.deploy.container_steps import DockerTarget, stall_limits
from orchestrator.deploy.interrupts import Trail, UpInterrupted, finish_removal
from orchestrator.deploy.probes import probe_health
from orchestrator.deploy.readiness import ProgressEvent, StartupFailure, StartupTracker, wait_until_ready
from orchestrator.errors import DeploymentError

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.launch.replicas import BalancerPlan, Replica
    from orchestrator.runtime.containers import DockerRuntime

__all__ = [
    "BALANCER_READY_SECONDS",
    "RESTART_RETRIES",
    "CancellableTarget",
    "SetTrail",
    "start_replica",
    "wait_balancer",
    "wait_replicas",
]

BALANCER_READY_SECONDS = 30.0
RESTART_RETRIES = 5
ProgressCallback = Callable[[ProgressEvent], None]


class CancellableTarget(DockerTarget):
    """A container wait that ends (as if the container died) once `cancel` is set."""

    def __init__(self, runtime: DockerRuntime, container_id: str, cancel: threading.Event) -> None:
        super().__init__(runtime, container_id)
        self.cancel = cancel

    def status(self) -> tuple[str, int | None]:
        if self.cancel.is_set():
            return ("dead", None)
        return super().status()


def tagged(emit: ProgressCallback, source: str) -> ProgressCallback:
    return lambda event: emit(replace(event, source=source))


def wait_replicas(
    runtime: DockerRuntime,
    started: dict[int, str],
    replicas: tuple[Replica, ...],
    settings: Settings,
    emit: ProgressCallback,
) -> float:
    """Wait until every replica in `started` (index -> container id) is ready; the slowest one's seconds.

    Raises `StartupFailure` of the first replica that fails (its `source` says which), after cancelling the rest.
    """
    cancel = threading.Event()
    results: queue.Queue[tuple[int, float | BaseException]] = queue.Queue()
    by_index = {r.index: r for r in replicas}

    def report(event: ProgressEvent) -> None:
        # A cancelled wait ends as if its container died: that is no news (the first failure or Ctrl-C is).
        if not cancel.is_set():
            emit(event)

    def one(index: int, container_id: str) -> None:
        replica = by_index[index]
        tracker = StartupTracker(
            stall_limits(settings), time.monotonic(), secrets=settings.secrets.values(),
            engine=settings.serving_engine,
        )  # fmt: skip
        try:
            seconds = wait_until_ready(
                CancellableTarget(runtime, container_id, cancel),
                endpoint_for(settings.host.bind_address, replica.port),
                tracker,
                api_key=settings.secrets.api_key_text(),
                on_event=tagged(report, f"replica {index}"),
                slow_poll=0.25,
            )
            results.put((index, seconds))
        except BaseException as exc:  # handed to the waiting thread
            results.put((index, exc))

    for index, container_id in started.items():
        threading.Thread(target=one, args=(index, container_id), daemon=True, name=f"replica-{index}").start()
    slowest = 0.0
    try:
        for _ in started:
            index, outcome = results.get()
            if isinstance(outcome, BaseException):
                if isinstance(outcome, StartupFailure):
                    outcome.args = (f"replica {index}: {outcome}",)
                raise outcome
            slowest = max(slowest, outcome)
    finally:
        cancel.set()
    return slowest


def wait_balancer(
    runtime: DockerRuntime,
    container_id: str,
    plan: BalancerPlan,
    health_path: str,
    *,
    expect_up: int,
    timeout: float = BALANCER_READY_SECONDS,
) -> None:
    """Until the exporter shows `expect_up` replicas UP and the endpoint's health answers 200."""
    from orchestrator.deploy.balancer_state import metrics_endpoint

    config = plan.config
    metrics = metrics_endpoint(config.metrics_bind_address, config.metrics_port)
    endpoint = endpoint_for(config.bind_address, config.port)
    deadline = time.monotonic() + timeout
    seen = "its exporter did not answer"
    while time.monotonic() < deadline:
        info = runtime.inspect(container_id)
        if info is None or info.status in {"exited", "dead"}:
            tail = runtime.logs(container_id, tail=20) if info is not None else []
            raise DeploymentError(
                f"the balancer {plan.container_name} exited while starting",
                cause="HAProxy refused its configuration or could not bind its ports",
                fix="read the log lines below; check that host.port and host.balancer_metrics_port are free",
                log_tail=tail,
            )
        servers = balancer_servers(metrics, timeout=0.5)
        if servers is not None:
            up = sum(1 for s in servers.values() if s.serving)
            seen = ", ".join(f"{s.name} {s.state}" for s in servers.values())
            if up >= expect_up and probe_health(endpoint, health_path, timeout=1.0) == 200:
                return
        time.sleep(0.1)
    raise DeploymentError(
        f"the balancer {plan.container_name} did not see the replicas ready within {timeout:g} s ({seen})",
        cause="HAProxy's health checks do not reach the replicas on their published ports",
        fix="check `orchestrator status` and `orchestrator logs`; the replicas must answer on their host ports",
        log_tail=runtime.logs(container_id, tail=20),
    )


class SetTrail(Trail):
    """The containers this `up` created (names), for removing them all on Ctrl-C."""

    def __init__(self) -> None:
        super().__init__()
        self.created: list[str] = []

    def interrupted(self) -> UpInterrupted:
        engine = self.engine
        if engine is None or not self.created:
            return UpInterrupted(self.left)
        left = [name for name in self.created if not _removed(engine, name)]
        if left:
            return UpInterrupted(
                f"containers {', '.join(left)} may be left (they could not be removed)", left[0]
            )
        return UpInterrupted(
            f"the {len(self.created)} container(s) this up created were removed; nothing is left"
        )


def _removed(engine: DockerRuntime, name: str) -> bool:
    """Remove `name`; True once the engine has it no more. A second Ctrl-C that cuts the removal short is
    answered as for one container: asked again and waited for (a third gives up and names it)."""
    try:
        try:
            engine.remove(name, force=True)
        except KeyboardInterrupt:
            finish_removal(engine, name)
        engine.remove_secrets(name)
        return engine.inspect(name) is None
    except (Exception, KeyboardInterrupt):
        return False


def start_replica(engine: DockerRuntime, replica: Replica, settings: Settings, trail: SetTrail) -> str:
    """Create and start one replica's container (recorded in `trail` before the create is sent)."""
    plan = replica.plan
    trail.created.append(plan.container_name)
    container_id = engine.create(plan)
    engine.start(
        container_id, name=plan.container_name, port=replica.port, bind_address=settings.host.bind_address
    )
    return container_id
