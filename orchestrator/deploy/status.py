"""`status`: every deployment of ours, probed in parallel, with the phase it is really in.

The phase comes from Docker's state, then `/health` (0.3 s budget), then the logs. TGI's `/health` waits
behind a running forward pass, so under load it can time out on a server that is ready: a timeout after the
router logged `Connected` (or with a `healthy` container) is "ready (busy)", not a start-up phase.
`phase_without_health` is the pure rule; the rest is I/O.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from orchestrator.deploy.capacity import PREDICTED_KV_LABEL
from orchestrator.deploy.info import DeploymentStatus, deployment_info
from orchestrator.deploy.probes import check_health, http_get
from orchestrator.engines import Engine, Phase, engine_for
from orchestrator.engines.diagnosis import DiagnosisContext
from orchestrator.formats.prometheus import gauge, parse_prometheus

if TYPE_CHECKING:
    from orchestrator.runtime.containers import ContainerInfo, DockerRuntime

__all__ = ["BUSY", "phase_without_health", "probe_status", "status"]

BUSY = "ready (busy)"
PROBE_TIMEOUT = 0.3


def _count(reading: float | None) -> int | None:
    return None if reading is None else round(reading)


def phase_without_health(
    lines: Iterable[str], *, timed_out: bool, health: str | None = None, engine: Engine | None = None
) -> str:
    """The phase of a running container whose `/health` gave no status code.

    `lines` are its logs, oldest first: the furthest milestone since the launcher last started (`Args {`; the
    logs of earlier runs after a restart are history) is the phase. But when `/health` timed out (the server
    accepted the connection and is busy) after the router logged `Connected`, or Docker's healthcheck says
    `healthy`, the server is ready and busy.
    """
    engine = engine or engine_for()
    phase = Phase.STARTING
    connected = False
    for line in lines:
        found = engine.phase_of_line(line)
        if found is Phase.STARTING:
            phase, connected = Phase.STARTING, False
        elif found is not None and found.order > phase.order:
            phase = found
        connected = connected or engine.is_serving_line(line)
    if timed_out and (connected or health == "healthy"):
        return BUSY
    return phase.label


def probe_status(engine: DockerRuntime, container: ContainerInfo) -> DeploymentStatus:
    """One `status` row: Docker's state, then `/health`, then `/info` and `/metrics` when it serves."""
    info = deployment_info(container)
    try:
        served = engine_for(info.engine)
    except ValueError:  # made by a newer orchestrator, or a label edited by hand: say so, do not guess
        phase = container.status if container.running else f"exited ({container.exit_code})"
        return DeploymentStatus(info, f"{phase}; engine {info.engine!r} unknown to this orchestrator")
    if container.status == "restarting":
        return DeploymentStatus(info, f"restarting (restarts: {container.restart_count})")
    if not container.running:
        phase = f"exited ({container.exit_code})" if container.status == "exited" else container.status
        if container.status == "exited":  # why, when its logs say (vLLM may exit 0 when its engine core dies)
            found = served.diagnose(engine.logs(container.id, tail=200), DiagnosisContext(), ())
            phase += f": {found.cause}" if found is not None else ""
        return DeploymentStatus(info, phase)
    health = check_health(info.endpoint, served.routes.health, timeout=PROBE_TIMEOUT)
    if health.code is not None and health.code != 200:
        return DeploymentStatus(info, f"unhealthy ({health.code})")
    if health.code is None:
        lines = engine.logs(container.id, tail=400)
        return DeploymentStatus(
            info,
            phase_without_health(lines, timed_out=health.timed_out, health=container.health, engine=served),
        )
    limits: dict[str, int] = {}
    version = None
    answer = (
        http_get(info.endpoint, served.routes.info, timeout=PROBE_TIMEOUT) if served.routes.info else None
    )
    if answer is not None and answer[0] == 200:
        with contextlib.suppress(ValueError):
            data = json.loads(answer[1])
            version = data.get("version")
            for key in (
                "max_input_tokens",
                "max_total_tokens",
                "max_batch_total_tokens",
                "max_concurrent_requests",
            ):
                if isinstance(data.get(key), int):
                    limits[key] = data[key]
    queue_size = running = None
    kv_usage: float | None = None
    capacity_gauge = _capacity_gauge(served, info.tgi_version)
    reported = limits.get("max_batch_total_tokens")
    metrics = http_get(info.endpoint, served.routes.metrics, timeout=PROBE_TIMEOUT)
    if metrics is not None and metrics[0] == 200:
        series = parse_prometheus(metrics[1].decode("utf-8", "replace"))
        names = served.status_metrics
        queue_size, running = (_count(gauge(series, n)) for n in (names.queue, names.running))
        kv_usage = gauge(series, names.kv_cache_usage) if names.kv_cache_usage else None
        if reported is None and capacity_gauge:
            reported = _count(gauge(series, capacity_gauge))
    predicted = container.labels.get(PREDICTED_KV_LABEL, "")
    return DeploymentStatus(
        info,
        "ready",
        limits,
        queue_size,
        running,
        version,
        kv_usage,
        kv_tokens_predicted=int(predicted) if predicted.isdigit() else None,
        kv_tokens_reported=reported,
    )


def _capacity_gauge(engine: Engine, version_text: str) -> str | None:
    """The engine's gauge of its KV-cache token budget, for the version the container runs."""
    version = engine.parse_version(version_text) if version_text else None
    facts = engine.hardware.facts_for(version) if version else None
    return facts.kv_capacity_metric if facts else None


def status(name: str | None = None, *, runtime: DockerRuntime | None = None) -> list[DeploymentStatus]:
    """Every deployment of ours (or the one named), probed in parallel: phase, limits, queue, batch."""
    if runtime is None:
        from orchestrator.runtime.containers import connect

        runtime = connect()
    engine = runtime
    containers = engine.list_managed(name)
    if not containers:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(containers))) as pool:
        rows = list(pool.map(lambda c: probe_status(engine, c), containers))
    return sorted(rows, key=lambda row: row.info.name)
