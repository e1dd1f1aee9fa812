"""`orchestrator load --name`: load a deployment made by `orchestrator up`, found by name (real Docker Engine)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.deploy import lifecycle as deploy
from tests.fixtures.emulator import free_port
from tests.helpers import isolate

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_load_by_deployment_name(
    docker_client: Any, emulator_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate(monkeypatch, tmp_path)
    name = f"load-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    settings = load_settings(
        {
            "engine.image": emulator_image,
            "engine.extra_args": ["--emulator-profile", "instant"],
            "host.gpus": "none",
            "host.port": port,
            "host.cache_dir": str(tmp_path / "cache"),
            "host.container_name": name,
        },
        env_file=None,
    )
    deploy.up(settings)
    try:
        cmd = [sys.executable, "-c", "from orchestrator.cli import main; main()", "load", "--name", name,
               "--users", "2", "--duration", "2s", "--output-tokens", "8", "--report-dir", str(tmp_path / "r")]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        assert f"http://127.0.0.1:{port}" in out.stdout
        assert "TTFT p50" in out.stdout
        missing = subprocess.run([*cmd[:4], "--name", f"{name}-missing", "--report-dir", str(tmp_path / "m")],
                                 capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert missing.returncode == 2 and "no such deployment" in missing.stderr
    finally:
        deploy.down(name)
    assert not docker_client.containers.list(all=True, filters={"name": name})
