"""`orchestrator smoke --up` on the real Docker Engine with the emulator image: every check passes (API key
included), and the deployment is gone afterwards, also when a check fails."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from orchestrator.smoke import CHECKS
from tests.fixtures.emulator import free_port
from tests.helpers import run_orchestrator

pytestmark = pytest.mark.docker


def _smoke_up(
    tmp_path: Path, emulator_image: str, name: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_orchestrator(
        "smoke",
        "--up",
        "--image",
        emulator_image,
        "--gpus",
        "none",
        "--port",
        str(free_port()),
        "--name",
        name,
        "--set",
        f"host.cache_dir={tmp_path / 'cache'}",
        "--json",
        "--junit-xml",
        str(tmp_path / "junit.xml"),
        *extra,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )


def _containers(docker_client: Any, name: str) -> list[Any]:
    found: list[Any] = docker_client.containers.list(all=True, filters={"name": f"^/{name}$"})
    return found


def _gone(docker_client: Any, name: str) -> bool:
    return not _containers(docker_client, name)


def _force_remove(docker_client: Any, name: str) -> None:
    for container in _containers(docker_client, name):
        container.remove(force=True)


def test_smoke_up_passes_every_check_and_takes_the_deployment_down(
    tmp_path: Path, docker_client: Any, emulator_image: str
) -> None:
    name = f"smoke-up-{secrets.token_hex(4)}"
    key = "smoke-up-key-" + secrets.token_hex(4)
    try:
        done = _smoke_up(tmp_path, emulator_image, name, env={"ORCHESTRATOR_SECRETS__API_KEY": key})
        assert done.returncode == 0, done.stdout + done.stderr
        data = json.loads(done.stdout)
        assert {c["name"]: c["status"] for c in data["checks"]} == {c.name: "pass" for c in CHECKS}
        assert "[up" in done.stderr  # start-up progress went to stderr, stdout is pure JSON
        assert key not in done.stdout + done.stderr
        assert _gone(docker_client, name)
    finally:
        _force_remove(docker_client, name)


def test_smoke_up_takes_the_deployment_down_when_a_check_fails(
    tmp_path: Path, docker_client: Any, emulator_image: str
) -> None:
    name = f"smoke-up-{secrets.token_hex(4)}"
    try:
        done = _smoke_up(tmp_path, emulator_image, name, "--expect-model", "someone/not-deployed")
        assert done.returncode == 1, done.stdout + done.stderr
        data = json.loads(done.stdout)
        assert [c["name"] for c in data["checks"] if c["status"] == "fail"] == ["info"]
        assert 'name="info"' in (tmp_path / "junit.xml").read_text()
        assert _gone(docker_client, name)
    finally:
        _force_remove(docker_client, name)


def test_smoke_name_finds_a_running_deployment(
    tmp_path: Path, docker_client: Any, emulator_image: str
) -> None:
    from orchestrator.config.loading import load_settings
    from orchestrator.deploy import lifecycle as deploy

    name = f"smoke-name-{secrets.token_hex(4)}"
    settings = load_settings(
        {
            "engine.image": emulator_image,
            "host.gpus": "none",
            "host.port": free_port(),
            "host.container_name": name,
            "host.cache_dir": str(tmp_path / "cache"),
        },
        env_file=None,
    )
    try:
        deploy.up(settings)
        done = run_orchestrator("smoke", "--name", name, "--json", cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["url"] == f"http://127.0.0.1:{settings.host.port}"
        missing = run_orchestrator("smoke", "--name", name + "-absent", cwd=tmp_path, timeout=120)
        assert missing.returncode == 2 and "no deployment named" in missing.stderr  # a wrong --name, README
    finally:
        deploy.down(name)
        assert _gone(docker_client, name)


def _existing_deployment(tmp_path: Path, emulator_image: str, name: str) -> Any:
    """A deployment someone started before smoke ran, with its settings in ./orchestrator.toml (so the smoke
    process sees the very same settings)."""
    from orchestrator.config.loading import load_settings
    from orchestrator.deploy import lifecycle as deploy

    (tmp_path / "orchestrator.toml").write_text(
        f'[engine]\nimage = "{emulator_image}"\nextra_args = ["--emulator-profile", "instant"]\n'
        f'[host]\ngpus = "none"\nport = {free_port()}\ncontainer_name = "{name}"\n'
        f'cache_dir = "{tmp_path / "cache"}"\n'
    )
    settings = load_settings(config_file=tmp_path / "orchestrator.toml", env_file=None)
    return deploy.up(settings)


def test_smoke_up_leaves_an_existing_deployment_with_the_same_settings_running(
    tmp_path: Path, docker_client: Any, emulator_image: str
) -> None:
    name = f"smoke-keep-{secrets.token_hex(4)}"
    try:
        before = _existing_deployment(tmp_path, emulator_image, name)
        done = run_orchestrator("smoke", "--up", "--json", cwd=tmp_path, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["url"] == before.endpoint
        assert "already running with these settings" in done.stderr
        [after] = _containers(docker_client, name)
        assert after.id == before.container_id and after.status == "running"
    finally:
        _force_remove(docker_client, name)


def test_smoke_up_leaves_an_existing_deployment_with_other_settings_running(
    tmp_path: Path, docker_client: Any, emulator_image: str
) -> None:
    name = f"smoke-keep-{secrets.token_hex(4)}"
    try:
        before = _existing_deployment(tmp_path, emulator_image, name)
        done = run_orchestrator("smoke", "--up", "--max-input-tokens", "3000", cwd=tmp_path, timeout=300)
        assert done.returncode == 4, done.stdout + done.stderr
        assert "already running with different settings" in done.stderr
        assert "Traceback" not in done.stderr
        [after] = _containers(docker_client, name)
        assert after.id == before.container_id and after.status == "running"
    finally:
        _force_remove(docker_client, name)
