"""`rollout` of a single container asks first (it cannot be zero-downtime); Ctrl-C during a multi-replica `up`
leaves no container behind."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

import pytest

from tests.helpers import ORCHESTRATOR, clean_environ
from tests.scale_out.conftest import ReplicaEnv

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _ours(docker_client: Any, env: ReplicaEnv) -> list[Any]:
    return list(
        docker_client.containers.list(all=True, filters={"label": f"org.tgi-orchestrator.name={env.name}"})
    )


def test_rollout_of_one_replica_asks_then_restarts_with_yes(
    docker_client: Any, replica_env: ReplicaEnv
) -> None:
    env = replica_env
    single = [flag for flag in env.flags if flag != "3"]
    single[single.index("--replicas") + 1 : single.index("--replicas") + 1] = ["1"]
    assert env.cli("up", *single).returncode == 0
    before = docker_client.containers.get(env.name).id
    refused = env.cli("rollout", *single)
    assert refused.returncode == 1
    assert "cannot be zero-downtime" in refused.stderr and "--yes" in refused.stderr
    assert docker_client.containers.get(env.name).id == before  # nothing was touched
    done = env.cli("rollout", *single, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert docker_client.containers.get(env.name).id != before


@pytest.mark.parametrize("presses", [1, 2], ids=["ctrl-c", "ctrl-c-twice"])
def test_ctrl_c_during_a_multi_replica_up_leaves_nothing(
    docker_client: Any, replica_env: ReplicaEnv, presses: int
) -> None:
    """Ctrl-C while the replicas start (a terminal sends it to the whole group; `timeout -s INT` sends it twice):
    every container goes, and the replica waits it cancelled print no made-up failures."""
    env = replica_env
    slow = ["--set", "engine.extra_args=--emulator-profile a100-awq --emulator-startup-seconds 60"]
    process = subprocess.Popen(
        [ORCHESTRATOR, "up", "--no-pull", *env.flags, *slow], cwd=env.directory,
        env={**clean_environ(), **env.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:  # until a replica is being waited for
        seen.append(line)
        if "replica " in line and "phase: downloading" in line:
            break
    assert _ours(docker_client, env), "".join(seen)
    for _ in range(presses):
        process.send_signal(signal.SIGINT)
        time.sleep(0.05)
    out, err = process.communicate(timeout=120)
    err = "".join(seen) + err
    assert process.returncode == 130, out + err
    assert "Interrupted" in err and "nothing is left" in err, err
    assert "failed" not in err, err
    assert _ours(docker_client, env) == []
