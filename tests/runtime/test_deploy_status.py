"""`status` phases: the pure rule for a `/health` without a status code, and a real socket that never answers."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from orchestrator.deploy.probes import check_health
from orchestrator.deploy.status import BUSY, phase_without_health, probe_status
from orchestrator.engines.tgi import ENGINE as TGI
from orchestrator.runtime.containers import ContainerInfo

STARTED = [
    "Args { model_id: ... }",
    "Starting check and download process",
    "Starting shard",
    "Shard ready in 2s",
]
WARMING = [*STARTED, "Starting Webserver", "Warming up model"]
CONNECTED = [*WARMING, "Setting max batch total tokens to 16000", "Connected"]


def test_a_timeout_after_connected_is_ready_busy_not_a_start_up_phase() -> None:
    assert phase_without_health(CONNECTED, timed_out=True) == BUSY
    assert phase_without_health(WARMING, timed_out=True, health="healthy") == BUSY


def test_no_answer_at_all_reports_the_phase_from_the_logs() -> None:
    assert phase_without_health(CONNECTED, timed_out=False) == "warming up"  # refused or reset: not busy
    assert phase_without_health(WARMING, timed_out=True) == "warming up"  # busy warming up, not connected yet
    assert phase_without_health(STARTED, timed_out=False) == "loading shards"
    assert phase_without_health([], timed_out=True, health="starting") == "starting"
    assert phase_without_health(["Connected to shard 0"], timed_out=True) != BUSY


def test_a_restart_makes_the_earlier_runs_logs_history() -> None:
    restarted = [
        *CONNECTED,
        "Shard 0 crashed",
        "Args { model_id: ... }",
        "Starting check and download process",
    ]
    assert phase_without_health(restarted, timed_out=True) == "downloading weights"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listening socket that never accepts: connections complete (backlog) but no answer ever comes."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


class _Engine:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def logs(self, container_id: str, *, tail: int | None = None) -> list[str]:
        return self.lines


def _running(port: int, health: str | None = None) -> ContainerInfo:
    labels = {
        "org.tgi-orchestrator.managed": "true",
        "org.tgi-orchestrator.name": "busy",
        "org.tgi-orchestrator.port": str(port),
    }
    return ContainerInfo("c1", "busy", "img", "running", None, False, "", None, None, 0, health, labels)


def test_check_health_tells_a_timeout_from_a_refusal(silent_port: int) -> None:
    answer = check_health(f"http://127.0.0.1:{silent_port}", TGI.routes.health, timeout=0.2)
    assert answer.code is None and answer.timed_out
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: refused
        refused = check_health(f"http://127.0.0.1:{port}", TGI.routes.health, timeout=0.2)
    assert refused.code is None and not refused.timed_out


def test_status_row_of_a_busy_connected_server_is_ready_busy(silent_port: int) -> None:
    row = probe_status(_Engine(CONNECTED), _running(silent_port))  # type: ignore[arg-type]
    assert row.phase == BUSY
    row = probe_status(_Engine(WARMING), _running(silent_port))  # type: ignore[arg-type]
    assert row.phase == "warming up"
    row = probe_status(_Engine(WARMING), _running(silent_port, health="healthy"))  # type: ignore[arg-type]
    assert row.phase == BUSY
