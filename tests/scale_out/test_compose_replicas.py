"""The Compose file with replicas: one service per replica and profile, and the balancer, from the same plan."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.config.loading import load_settings
from orchestrator.launch.compose import render_compose


def _rendered(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"host.replicas": 3, "host.gpus": "all", "host.port": 8080}
    base.update(values)
    return dict(yaml.safe_load(render_compose(load_settings(base, env_file=None))))


def test_replicas_and_the_balancer_are_services() -> None:
    services = _rendered()["services"]
    names = {
        "tgi-1",
        "tgi-2",
        "tgi-3",
        "tgi-emulator-1",
        "tgi-emulator-2",
        "tgi-emulator-3",
        "balancer",
        "prometheus",
    }
    assert set(services) == names
    assert services["tgi-2"]["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"] == ["1"]
    assert services["tgi-3"]["ports"] == ["127.0.0.1:8083:80"]
    assert services["tgi-emulator-2"]["networks"]["default"]["aliases"] == ["tgi-2"]
    balancer = services["balancer"]
    assert balancer["profiles"] == ["gpu", "emulator"]
    assert balancer["ports"] == ["127.0.0.1:8080:8080", "127.0.0.1:8084:8084"]
    config = balancer["environment"]["HAPROXY_CONFIG"]
    assert "server r2 tgi-2:80 maxconn 128" in config and "bind 0.0.0.0:8080" in config
    assert "option http-no-delay" in config


def test_the_rendering_follows_the_settings() -> None:
    services = _rendered(**{"host.replicas": 2, "limits.max_concurrent_requests": 16})["services"]
    assert "tgi-3" not in services
    assert "maxconn 16" in services["balancer"]["environment"]["HAPROXY_CONFIG"]


def test_one_replica_keeps_the_single_service_file() -> None:
    assert "balancer" not in _rendered(**{"host.replicas": 1})["services"]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_accepts_it(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        render_compose(load_settings({"host.replicas": 3, "host.gpus": "none"}, env_file=None))
    )
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "hf_token").touch()
    for profile in ("gpu", "emulator"):
        out = subprocess.run(
            ["docker-compose", "--profile", profile, "config", "-q"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
