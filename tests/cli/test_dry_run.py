"""`orchestrator up --dry-run`: the printed `docker run` parses back, masks secrets, and really runs (emulator)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from tests.fixtures.emulator import free_port
from tests.helpers import run_orchestrator as orchestrator
from tests.plan.helpers import isolated
from tests.plan.test_docker_command import option, shell_words

__all__ = ["isolated"]

pytestmark = pytest.mark.usefixtures("isolated")

SECRET = "sk-DRYRUN-CLI-secret"


def test_dry_run_prints_the_pinned_docker_run() -> None:
    result = CliRunner().invoke(app, ["up", "--dry-run"])
    assert result.exit_code == 0, result.output
    words = shell_words(result.output)
    image_at = words.index("ghcr.io/huggingface/text-generation-inference:3.3.7")
    launcher, docker_opts = words[image_at + 1 :], words[:image_at]
    assert words[:2] == ["docker", "run"]
    assert option(launcher, "--quantize") == ["awq"]
    assert option(launcher, "--max-input-tokens") == ["3696"]
    assert option(launcher, "--max-total-tokens") == ["4096"]
    assert option(launcher, "--max-batch-prefill-tokens") == ["4096"]
    assert option(launcher, "--usage-stats") == ["off"]
    assert option(docker_opts, "--shm-size") == ["1g"]
    assert option(docker_opts, "-p") == ["127.0.0.1:8080:80"]
    assert option(docker_opts, "--gpus") == ["all"]


def test_dry_run_process_masks_secrets_and_follows_flags(isolated: Path) -> None:
    (isolated / ".env").write_text(f"ORCHESTRATOR_SECRETS__API_KEY={SECRET}\n")
    done = orchestrator("up", "--dry-run", "--port", "9001", "--gpus", "1", "--tgi-version", "2.4.1",
                        "--image", "registry.local/tgi:mine", cwd=isolated)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert "#   tgi-api-key: *** (exported as API_KEY)" in done.stdout
    words = shell_words(done.stdout)
    assert option(words, "-p") == ["127.0.0.1:9001:80"]
    assert option(words, "--gpus") == ['"device=1"']
    assert option(words, "--num-shard") == ["1"]
    assert option(words, "--entrypoint") == ["/bin/sh"]
    assert "registry.local/tgi:mine" in words


def test_dry_run_with_a_bad_setting_exits_2(isolated: Path) -> None:
    (isolated / "orchestrator.toml").write_text("[host]\nshm_size = 'plenty'\n")
    done = orchestrator("up", "--dry-run", cwd=isolated)
    assert done.returncode == 2
    assert "host.shm_size = 'plenty' (from orchestrator.toml)" in done.stderr
    assert "docker run" not in done.stdout


@pytest.mark.docker
def test_printed_command_really_runs_the_emulator_with_the_api_key_from_a_file(
    emulator_image: str, isolated: Path
) -> None:
    """Paste-equivalent: run the printed words after writing the secret file the comment asks for; the API
    then demands the key (so the wrapper exported it) while `docker inspect` never shows it."""
    name = f"tgi-orch-dryrun-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {"ORCHESTRATOR_SECRETS__API_KEY": SECRET, "XDG_CACHE_HOME": str(isolated / "xdg")}
    done = orchestrator("up", "--dry-run", "--image", emulator_image, "--gpus", "none", "--port", str(port),
                        "--name", name, "--set", f"host.cache_dir={isolated / 'data'}", cwd=isolated, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    secrets = isolated / "xdg" / "tgi-orchestrator" / "secrets" / name
    secrets.mkdir(parents=True)
    (secrets / "tgi-api-key").write_text(SECRET)
    (secrets / "tgi-api-key").chmod(0o600)
    words = shell_words(done.stdout)
    try:
        started = subprocess.run(words, capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr
        _wait_healthy(f"http://127.0.0.1:{port}/health", name)
        assert _generate(port, None) == 401
        assert _generate(port, SECRET) == 200
        raw = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout
        assert SECRET not in raw
        assert json.loads(raw)[0]["HostConfig"]["ShmSize"] == 1024**3
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


def _wait_healthy(url: str, name: str, deadline: float = 90.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    logs = subprocess.run(["docker", "logs", "--tail", "30", name], capture_output=True, text=True)
    raise AssertionError(f"{url} never became healthy:\n{logs.stdout}{logs.stderr}")


def _generate(port: int, key: str | None) -> int:
    body = json.dumps({"inputs": "Hello", "parameters": {"max_new_tokens": 2}}).encode()
    headers: dict[str, Any] = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/generate", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
