"""`orchestrator load --name`: find a running container's published port and load it (real Docker Engine)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_load_by_container_name(docker_client: Any, emulator_image: str, tmp_path: Path) -> None:
    name = f"load-test-{uuid.uuid4().hex[:8]}"
    container = docker_client.containers.run(
        emulator_image, name=name, detach=True, ports={"80/tcp": ("127.0.0.1", None)},
        labels={"tgi-orchestrator.test": "load"},
    )  # fmt: skip
    try:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"emulator container never became healthy:\n{container.logs(tail=30).decode()}"
                    )
                time.sleep(0.5)
        cmd = [sys.executable, "-c", "from orchestrator.cli import main; main()", "load", "--name", name,
               "--users", "2", "--duration", "2s", "--output-tokens", "8", "--report-dir", str(tmp_path)]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        assert f"http://127.0.0.1:{port}" in out.stdout
        assert "TTFT p50" in out.stdout
        missing = subprocess.run([*cmd[:4], "--name", f"{name}-missing", "--report-dir", str(tmp_path)],
                                 capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert missing.returncode == 2 and "no such container" in missing.stderr
    finally:
        container.remove(force=True)
