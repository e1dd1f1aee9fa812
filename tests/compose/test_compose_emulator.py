"""The `emulator` profile for real: Debian's `docker-compose` brings the emulator image up from the checked-in
file, its healthcheck turns healthy, `orchestrator smoke` passes against it, the token arrives by file (never in
the container config), and `down` removes everything. A rendering with an API key proves the key secret too."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.launch.compose import write_compose
from orchestrator.smoke import CHECKS, CheckStatus
from orchestrator.smoke.target import smoke
from tests.compose.conftest import COMPOSE_FILE
from tests.fixtures.docker_engine import require_or_skip
from tests.fixtures.emulator import free_port

pytestmark = pytest.mark.docker

TOKEN = "hf_compose_test_token_not_real"


@contextmanager
def compose_up(
    compose_file: Path,
    env: dict[str, str],
    docker_client: Any,
    *,
    wait_healthy: bool = True,
    profiles: tuple[str, ...] = ("emulator",),
    service: str = "tgi-emulator",
) -> Iterator[Any]:
    """`docker-compose --profile emulator up -d` under a unique project; yields the container once Docker's
    healthcheck says healthy (or, with `wait_healthy=False`, once /health answers: the first healthcheck only
    runs after its 15 s interval); always `down -v` afterwards."""
    binary = shutil.which("docker-compose")
    if binary is None:
        require_or_skip("docker-compose (Debian package docker-compose) is not installed")
    project = f"tgi-compose-test-{secrets.token_hex(4)}"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRATOR_", "COMPOSE_"))}
    full_env = {**base, **env}
    cmd = [str(binary), "-f", str(compose_file), "-p", project]
    for profile in profiles:
        cmd += ["--profile", profile]
    try:
        up = subprocess.run([*cmd, "up", "-d"], env=full_env, capture_output=True, text=True, timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        (container,) = docker_client.containers.list(
            all=True,
            filters={
                "label": [f"com.docker.compose.project={project}", f"com.docker.compose.service={service}"]
            },
        )
        deadline = time.monotonic() + 90
        while True:
            container.reload()
            health = container.attrs["State"].get("Health", {}).get("Status")
            if health == "healthy" or (not wait_healthy and _answers(env["ORCHESTRATOR_HOST__PORT"])):
                break
            assert container.status in {"created", "running"}, container.logs(tail=30).decode()
            assert time.monotonic() < deadline, (
                f"not healthy after 90 s ({health}):\n{container.logs(tail=30)}"
            )
            time.sleep(1)
        yield container
    finally:
        down = subprocess.run(
            [*cmd, "down", "-v", "--remove-orphans", "-t", "30"], env=full_env, capture_output=True, text=True,
            timeout=180,
        )  # fmt: skip
        assert down.returncode == 0, down.stdout + down.stderr
        assert not docker_client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={project}"}
        )


def _answers(port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    token_file = tmp_path / "hf_token"
    token_file.write_text(TOKEN)
    (tmp_path / "data").mkdir(exist_ok=True)
    return {
        "ORCHESTRATOR_HOST__PORT": str(port),
        "HF_TOKEN_FILE": str(token_file),
        "TGI_CACHE_DIR": str(tmp_path / "data"),
        "TGI_EMULATOR_IMAGE": os.environ.get(
            "ORCHESTRATOR_TEST_EMULATOR_IMAGE", "tgi-orchestrator/emulator:3.3.7"
        ),
    }


def test_emulator_profile_runs_and_smoke_passes(
    tmp_path: Path, docker_client: Any, emulator_image: str
) -> None:
    port = free_port()
    with compose_up(COMPOSE_FILE, _env(tmp_path, port), docker_client) as container:
        settings = load_settings(env_file=None)
        report = smoke(settings, url=f"http://127.0.0.1:{port}", timeout=15)
        statuses = {r.name: r.status for r in report.results}
        assert report.ok, [(r.name, r.detail) for r in report.results if not r.passed]
        assert statuses["api_key"] is CheckStatus.SKIP  # the checked-in file has no API key
        # The port is published on loopback only, as the settings say.
        bindings = container.attrs["HostConfig"]["PortBindings"]["80/tcp"]
        assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
        assert container.attrs["HostConfig"]["ShmSize"] == 1024**3
        # The token: a read-only file at $HF_HOME/token, exported to PID 1, never in the container config.
        assert container.exec_run(["cat", "/data/token"]).output.decode() == TOKEN
        assert f"HF_TOKEN={TOKEN}".encode() in container.exec_run(["cat", "/proc/1/environ"]).output
        assert TOKEN not in str(container.attrs["Config"])


def test_rendered_api_key_secret_makes_the_401_check_pass(
    tmp_path: Path, docker_client: Any, emulator_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "compose-test-key-" + secrets.token_hex(4)
    monkeypatch.setenv("ORCHESTRATOR_SECRETS__API_KEY", key)
    settings = load_settings(env_file=None)
    compose_file = write_compose(settings, tmp_path / "compose" / "docker-compose.yml")
    (tmp_path / "compose" / "prometheus").mkdir()
    key_file = tmp_path / "tgi_api_key"
    key_file.write_text(key)
    port = free_port()
    env = {**_env(tmp_path, port), "TGI_API_KEY_FILE": str(key_file)}
    with compose_up(compose_file, env, docker_client, wait_healthy=False) as container:
        report = smoke(settings, url=f"http://127.0.0.1:{port}", api_key=key, timeout=15)
        assert {r.name: r.status for r in report.results} == {c.name: CheckStatus.PASS for c in CHECKS}
        assert key not in str(container.attrs["Config"])


@pytest.fixture(scope="session")
def prometheus_image(docker_client: Any) -> str:
    """Debian's prometheus binary (only needs libc) on the local base image: the registry's prom/prometheus
    cannot be pulled here, and this runs the very binary the host test uses."""
    import docker.errors

    tag = "tgi-orchestrator/prometheus-debian:test"
    binary = shutil.which("prometheus")
    if binary is None:
        require_or_skip("`prometheus` is not installed (Debian package prometheus)")
    try:
        docker_client.images.get("tgi-orchestrator/base:bookworm")
    except docker.errors.ImageNotFound:
        require_or_skip("base image tgi-orchestrator/base:bookworm is missing: run .ci/make-base-image.sh")
    try:
        docker_client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    import tempfile

    with tempfile.TemporaryDirectory() as context:
        shutil.copy(str(binary), Path(context) / "prometheus")
        (Path(context) / "Dockerfile").write_text(
            "FROM tgi-orchestrator/base:bookworm\n"
            "COPY prometheus /bin/prometheus\n"
            "EXPOSE 9090\n"
            'ENTRYPOINT ["/bin/prometheus"]\n'
        )
        docker_client.images.build(path=context, tag=tag, rm=True)
    return tag


def test_monitoring_profile_scrapes_the_emulator_through_compose(
    tmp_path: Path, docker_client: Any, emulator_image: str, prometheus_image: str
) -> None:
    import json

    port, prom_port = free_port(), free_port()
    env = {**_env(tmp_path, port), "PROMETHEUS_IMAGE": prometheus_image, "PROMETHEUS_PORT": str(prom_port)}
    with compose_up(
        COMPOSE_FILE, env, docker_client, wait_healthy=False, profiles=("emulator", "monitoring")
    ):
        report = smoke(load_settings(env_file=None), url=f"http://127.0.0.1:{port}", timeout=15)
        assert report.ok
        query = (
            f"http://127.0.0.1:{prom_port}/api/v1/query?query=sum%20by%20(job,instance)(tgi_request_count)"
        )
        deadline = time.monotonic() + 60
        result: list[Any] = []
        while not result:
            assert time.monotonic() < deadline, (
                "Prometheus (monitoring profile) never scraped tgi_request_count"
            )
            time.sleep(1)
            try:
                with urllib.request.urlopen(query, timeout=3) as response:
                    result = json.loads(response.read())["data"]["result"]
            except OSError:
                continue
        (series,) = result
        assert series["metric"] == {"job": "tgi", "instance": "tgi:80"}  # the emulator's `tgi` network alias
        assert float(series["value"][1]) >= 5


def test_gpu_profile_asks_the_engine_for_nvidia_gpus(
    tmp_path: Path, docker_client: Any, emulator_image: str
) -> None:
    """The `gpu` service's device reservation really reaches the engine: rendered with the emulator image (the
    TGI image cannot be pulled here), Compose v1 starts it with an NVIDIA device request, which an engine without
    the NVIDIA runtime refuses (and one with it accepts)."""
    binary = shutil.which("docker-compose")
    if binary is None:
        require_or_skip("docker-compose (Debian package docker-compose) is not installed")
    settings = load_settings({"engine.image": emulator_image}, env_file=None)
    compose_file = write_compose(settings, tmp_path / "compose" / "docker-compose.yml")
    project = f"tgi-gpu-test-{secrets.token_hex(4)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRATOR_", "COMPOSE_"))}
    env.update(_env(tmp_path, free_port()))
    cmd = [str(binary), "-f", str(compose_file), "-p", project, "--profile", "gpu"]
    has_nvidia = "nvidia" in (docker_client.info().get("Runtimes") or {})
    try:
        up = subprocess.run([*cmd, "up", "-d"], env=env, capture_output=True, text=True, timeout=180)
        if has_nvidia:
            assert up.returncode == 0, up.stderr
        else:
            assert up.returncode != 0
            assert 'could not select device driver "nvidia"' in up.stderr
            (container,) = docker_client.containers.list(
                all=True, filters={"label": f"com.docker.compose.project={project}"}
            )
            requests = container.attrs["HostConfig"]["DeviceRequests"]
            assert requests == [
                {"Driver": "nvidia", "Count": -1, "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}}
            ]
    finally:
        subprocess.run([*cmd, "down", "-v", "-t", "10"], env=env, capture_output=True, text=True, timeout=180)
    assert not docker_client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={project}"}
    )
