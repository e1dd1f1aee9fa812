"""Replica sets on the real Docker Engine with the emulator image and the HAProxy image, loaded by real Locust.

`up --replicas 3 --gpus none` starts three replicas and HAProxy; a rollout under 64 streams loses nothing; a
killed replica loses only its own requests, is out of the balancer within 3 s and back after it recovers;
`down` lets every stream that had started finish; `status` answers under load.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.scale_out.conftest import (
    ReplicaEnv,
    exporter_servers,
    failed,
    finish_load,
    responses_of,
    start_load,
    status_json,
    truncated,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _up(env: ReplicaEnv) -> None:
    out = env.cli("up", *env.flags)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ready" in out.stdout


def _replica_ids(docker_client: Any, env: ReplicaEnv) -> dict[str, str]:
    return {
        c.name: c.id
        for c in docker_client.containers.list(filters={"label": f"org.tgi-orchestrator.name={env.name}"})
    }


def _wait_for_load(env: ReplicaEnv, timeout: float = 60) -> None:
    """Until Locust's streams are flowing through the balancer (its start-up takes seconds on a busy host)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(s.sessions for s in exporter_servers(env.metrics).values()) >= 16:
            return
        time.sleep(0.2)
    raise AssertionError("the load never reached the balancer")


_LOG_LINE = re.compile(r" api replicas/(r\d+) \S+ (-?\d+) \S+ \S+ \S+ (\S{4}) ")


def _server_failures(log: str) -> dict[str, int]:
    """Per server, the requests HAProxy logged as a 5xx or ended abnormally, except those the client closed mid-stream
    (`CD`: Locust's run window closing on an unfinished stream)."""
    counts: dict[str, int] = {}
    for match in _LOG_LINE.finditer(log):
        server, status, flags = match.group(1), int(match.group(2)), match.group(3)
        if status >= 500 or (flags != "----" and not flags.startswith("CD")):
            counts[server] = counts.get(server, 0) + 1
    return counts


def _abnormal(log: str) -> list[str]:
    return [
        line for line in log.splitlines() if " api " in line and " ---- " not in line and " CD-- " not in line
    ]


def test_up_three_replicas_then_rollout_under_load_loses_nothing(
    docker_client: Any, replica_env: ReplicaEnv, tmp_path: Path
) -> None:
    env = replica_env
    _up(env)
    before = _replica_ids(docker_client, env)
    assert sorted(before) == sorted([env.name, *(f"{env.name}-replica-{i}" for i in (1, 2, 3))])
    assert docker_client.containers.get(env.name).image.tags == ["tgi-orchestrator/haproxy:2.6.12"]
    assert {s.name: s.state for s in exporter_servers(env.metrics).values()} == {
        "r1": "UP",
        "r2": "UP",
        "r3": "UP",
    }
    again = env.cli("up", *env.flags)
    assert again.returncode == 0 and "already running" in again.stdout + again.stderr

    load = start_load(env.endpoint, tmp_path / "rollout-load", users=64, duration="30s")
    _wait_for_load(env)
    rows = status_json(env)  # status under load
    by_name = {row["name"]: row for row in rows}
    assert by_name[env.name]["phase"] == "balancing (3/3 up)"
    for i in (1, 2, 3):
        replica = by_name[f"{env.name}-replica-{i}"]
        assert replica["phase"].startswith("ready"), replica
        assert replica["balancer"].startswith("UP"), replica
        assert replica["queue_size"] is not None
    assert by_name[env.name]["running_batch"] > 0  # requests in flight through HAProxy
    rolled = env.cli("rollout", *env.flags, "--yes", timeout=240)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    samples = finish_load(load, tmp_path / "rollout-load")
    after = _replica_ids(docker_client, env)
    assert after[env.name] == before[env.name]  # the balancer stayed
    for i in (1, 2, 3):
        name = f"{env.name}-replica-{i}"
        assert after[name] != before[name], f"{name} was not replaced"
    assert len(samples) > 200
    assert failed(samples) == [], [(s.status, s.error_type) for s in failed(samples)][:10]
    assert truncated(samples) == []


def test_a_killed_replica_loses_only_its_requests_and_comes_back(
    docker_client: Any, replica_env: ReplicaEnv, tmp_path: Path
) -> None:
    env = replica_env
    _up(env)
    load = start_load(env.endpoint, tmp_path / "kill-load", users=64, duration="25s", tokens=48)
    _wait_for_load(env)
    time.sleep(2)
    victim = docker_client.containers.get(f"{env.name}-replica-2")
    in_flight = exporter_servers(env.metrics)["r2"].sessions
    killed_at = time.time()
    os.kill(victim.attrs["State"]["Pid"], 9)  # a crash: the engine's restart policy brings it back
    down_after = None
    while time.time() - killed_at < 10:
        if exporter_servers(env.metrics)["r2"].state == "DOWN":
            down_after = time.time() - killed_at
            break
        time.sleep(0.05)
    assert down_after is not None and down_after < 3.0, down_after
    counted = responses_of(env.metrics, "r2")
    back = None
    while time.time() - killed_at < 20:
        if exporter_servers(env.metrics)["r2"].state == "UP":
            back = time.time() - killed_at
            break
        time.sleep(0.1)
    assert back is not None, "the restarted replica was not taken back"
    samples = finish_load(load, tmp_path / "kill-load")
    assert responses_of(env.metrics, "r2") > counted, "no request reached the replica after it came back"
    lost = failed(samples) + [s for s in truncated(samples) if s.ok]
    # Only requests that were on the killed replica fail, and each is counted: HAProxy logs every request with
    # the server it went to and how it ended; those the servers broke (flags S..., or a 5xx) are all on r2.
    log = docker_client.containers.get(env.name).logs().decode("utf-8", "replace")
    broken = _server_failures(log)
    assert set(broken) == {"r2"}, _abnormal(log)[:5]
    assert lost, "killing a replica under load broke no request: the kill did not happen under load"
    late = [round(s.start_at - killed_at, 2) for s in lost if s.start_at > killed_at + 0.5]
    assert not late, (
        f"requests sent after the balancer had dropped the replica failed (s after the kill): {late}"
    )
    print(
        f"killed replica: {len(lost)} requests lost, {in_flight} in flight on it, out after {down_after:.2f} s"
    )


def test_down_lets_started_streams_finish(
    docker_client: Any, replica_env: ReplicaEnv, tmp_path: Path
) -> None:
    env = replica_env
    _up(env)
    load = start_load(env.endpoint, tmp_path / "down-load", users=32, duration="20s", tokens=160)
    _wait_for_load(env)
    time.sleep(2)
    result: dict[str, Any] = {}

    def down() -> None:
        result["at"] = time.time()
        result["out"] = env.cli("down", "--name", env.name, timeout=120)

    worker = threading.Thread(target=down)
    worker.start()
    worker.join(timeout=150)
    samples = finish_load(load, tmp_path / "down-load")
    assert result["out"].returncode == 0, result["out"].stderr
    assert not docker_client.containers.list(
        all=True, filters={"label": f"org.tgi-orchestrator.name={env.name}"}
    )
    streaming = [s for s in samples if s.ttft is not None and s.start_at + s.ttft < result["at"] - 0.2]
    cut = [s for s in streaming if s in truncated(samples) or not s.ok]
    assert len(streaming) >= 16
    assert cut == [], [(s.error_type, s.token_events) for s in cut][:5]
