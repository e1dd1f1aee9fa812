"""Fixtures for replica sets on the real Docker Engine: the HAProxy image, free port runs, a running set, load."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.config.settings import Settings
from orchestrator.load.figures import Sample
from orchestrator.load.report import read_samples
from tests.fixtures.docker_engine import require_or_skip

HAPROXY_IMAGE = "tgi-orchestrator/haproxy:2.6.12"
MANAGED = "org.tgi-orchestrator.managed=true"


def free_port_run(count: int) -> int:
    """The first of `count` consecutive ports that are all free on loopback."""
    for _ in range(200):
        first = random.randint(20000, 60000 - count)
        sockets = []
        try:
            for port in range(first, first + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no run of {count} free ports")


@pytest.fixture(scope="session")
def haproxy_image(docker_client: Any) -> str:
    import docker.errors

    try:
        docker_client.images.get(HAPROXY_IMAGE)
    except docker.errors.ImageNotFound:
        require_or_skip(f"image {HAPROXY_IMAGE} is not built: run compose/build-haproxy-image.sh")
    return HAPROXY_IMAGE


def remove_set(docker_client: Any, name: str) -> None:
    for container in docker_client.containers.list(all=True, filters={"label": MANAGED}):
        if container.name == name or container.name.startswith(f"{name}-replica-"):
            container.remove(force=True)


@dataclass
class ReplicaEnv:
    """A replica set's settings (as flags and as `Settings`) and its working directory."""

    name: str
    port: int
    directory: Path
    flags: list[str]

    def settings(self) -> Settings:
        return load_settings(self.overrides(), env_file=None)

    def overrides(self) -> dict[str, Any]:
        return {
            "engine.image": "tgi-orchestrator/emulator:3.3.7",
            "engine.extra_args": ["--emulator-profile", "a100-awq"],
            "host.gpus": "none",
            "host.replicas": 3,
            "host.port": self.port,
            "host.cache_dir": str(self.directory / "cache"),
            "host.container_name": self.name,
        }

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """The console script with `args`; `up` starts without pulling the weights first (no Hub here: the
        emulator image needs none)."""
        from tests.helpers import run_orchestrator

        if args and args[0] == "up":
            args = ("up", "--no-pull", *args[1:])
        return run_orchestrator(*args, cwd=self.directory, env=self.env, timeout=timeout)

    @property
    def env(self) -> dict[str, str]:
        return {"XDG_CACHE_HOME": str(self.directory / "xdg")}

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics(self) -> str:
        return f"http://127.0.0.1:{self.port + 4}"


@pytest.fixture
def replica_env(
    docker_client: Any, emulator_image: str, haproxy_image: str, tmp_path: Path
) -> Iterator[ReplicaEnv]:
    name = f"orch-scale-{uuid.uuid4().hex[:8]}"
    port = free_port_run(5)
    flags = ["--name", name, "--port", str(port), "--replicas", "3", "--gpus", "none", "--image", emulator_image,
             "--set", f"host.cache_dir={tmp_path / 'cache'}", "--set", "engine.extra_args=--emulator-profile a100-awq",
             ]  # fmt: skip
    yield ReplicaEnv(name, port, tmp_path, flags)
    remove_set(docker_client, name)


def start_load(
    endpoint: str, report_dir: Path, *, users: int = 64, duration: str = "30s", tokens: int = 32
) -> subprocess.Popen[str]:
    """`orchestrator load` (real Locust) as a child process: streams through `endpoint`."""
    cmd = [sys.executable, "-c", "from orchestrator.cli import main; main()", "load", "--url", endpoint,
           "--scenario", "stream", "--users", str(users), "--duration", duration, "--output-tokens", str(tokens),
           "--input-tokens", "32", "--max-error-rate", "1", "--report-dir", str(report_dir), "--json"]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish_load(process: subprocess.Popen[str], report_dir: Path, timeout: float = 180) -> list[Sample]:
    out, _ = process.communicate(timeout=timeout)
    files = sorted(report_dir.rglob("samples.jsonl"))
    assert files, f"load wrote no samples (exit {process.returncode}):\n{out[-3000:]}"
    return [s for f in files for s in read_samples(f)]


def truncated(samples: list[Sample]) -> list[Sample]:
    """Streams cut short: ended without a final event, or fewer tokens than asked with finish `length`."""
    return [
        s for s in samples
        if s.error_type == "incomplete_stream"
        or (s.ok and s.finish_reason == "length" and s.target_tokens is not None and s.tokens < s.target_tokens)
    ]  # fmt: skip


def failed(samples: list[Sample]) -> list[Sample]:
    """Requests that failed; those still in flight when the run window closed (`unfinished`) did not."""
    return [s for s in samples if not s.ok and s.error_type != "unfinished"]


def exporter_servers(metrics: str) -> dict[str, Any]:
    from orchestrator.deploy.balancer_state import balancer_servers

    servers = balancer_servers(metrics, timeout=1.0)
    assert servers is not None, "the balancer's exporter does not answer"
    return servers


def responses_of(metrics: str, server: str) -> float:
    """HTTP responses the balancer has had from `server` so far (its exporter's counter)."""
    import urllib.request

    from orchestrator.formats.prometheus import parse_prometheus, value

    with urllib.request.urlopen(metrics + "/metrics", timeout=2) as response:
        series = parse_prometheus(response.read().decode())
    return value(series, "haproxy_server_http_responses_total", proxy="replicas", server=server)


def status_json(env: ReplicaEnv) -> list[dict[str, Any]]:
    out = env.cli("status", "--name", env.name, "--json")
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))
