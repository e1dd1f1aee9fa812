"""The CI example workflow: valid YAML, the promised order (emulator up, smoke, load with an SLO gate, down that
always runs), and every `orchestrator` flag it uses exists on the real CLI."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from orchestrator.cli import app
from tests.compose.conftest import REPO
from tests.fixtures.emulator import free_port

WORKFLOW = REPO / "docs" / "ci-example.yml"


def _steps() -> list[dict[str, Any]]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    return list(doc["jobs"]["smoke-and-load"]["steps"])


def _index(steps: list[dict[str, Any]], needle: str) -> int:
    return next(i for i, step in enumerate(steps) if needle in str(step.get("run", "")))


def test_the_workflow_brings_up_smokes_loads_with_slo_and_always_comes_down() -> None:
    steps = _steps()
    up = _index(steps, "--profile emulator up -d")
    smoke = _index(steps, "orchestrator smoke")
    load = _index(steps, "orchestrator load")
    down = _index(steps, "--profile emulator down")
    assert up < smoke < load < down
    assert "--slo-" in steps[load]["run"]
    assert steps[down].get("if") == "always()"
    assert "compose/docker-compose.yml" in steps[up]["run"]


def test_every_orchestrator_flag_in_the_workflow_exists() -> None:
    group = typer.main.get_command(app)
    commands: dict[str, Any] = group.commands  # type: ignore[attr-defined]
    doc = yaml.safe_load(WORKFLOW.read_text())
    runs = [str(step.get("run", "")) for job in doc["jobs"].values() for step in job["steps"]]
    used = [
        line.strip() for run in runs for line in run.splitlines() if line.strip().startswith("orchestrator ")
    ]
    assert len(used) >= 3
    for line in used:
        words = shlex.split(line)[1:]
        command = commands[words[0]]
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        for word in words[1:]:
            if word.startswith("--"):
                assert word.split("=", 1)[0] in known, f"`orchestrator {words[0]}` has no option {word}"


def _run_step(
    script: str, env: dict[str, str], cwd: Path, github_env: Path
) -> subprocess.CompletedProcess[str]:
    """Run one `run:` step as GitHub does (`bash -eo pipefail`), then load what it wrote to $GITHUB_ENV."""
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    for line in github_env.read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    return done


@pytest.mark.docker
def test_the_workflow_steps_run_for_real(tmp_path: Path, docker_client: Any, emulator_image: str) -> None:
    """Execute the example's own shell steps (bring-up, smoke, load with SLO gate, always-down) against the real
    engine. Only the project name and the host port are changed, so parallel runs cannot collide."""
    shutil.copytree(
        REPO / "compose", tmp_path / "compose", ignore=shutil.ignore_patterns("data", "secrets", ".env")
    )
    project = f"ci-example-{secrets.token_hex(4)}"
    steps = {
        step.get("name", ""): str(step.get("run", "")).replace("-p ci-tgi", f"-p {project}")
        for step in _steps()
    }
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRATOR_", "COMPOSE_"))}
    env.update(
        PATH=f"{venv_bin}:{env.get('PATH', '')}",
        GITHUB_ENV=str(github_env),
        ORCHESTRATOR_HOST__PORT=str(free_port()),
        ORCHESTRATOR_HOST__BIND_ADDRESS="127.0.0.1",
        TGI_EMULATOR_IMAGE=emulator_image,
    )
    names = list(steps)
    up = next(n for n in names if "Bring the emulator up" in n)
    smoke = next(n for n in names if n.startswith("Smoke checks"))
    load = next(n for n in names if n.startswith("Short load test"))
    down = next(n for n in names if n == "Bring it down")
    try:
        for name in (up, smoke, load):
            done = _run_step(steps[name], env, tmp_path, github_env)
            assert done.returncode == 0, (
                f"step {name!r} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        assert 'failures="0"' in (tmp_path / "reports" / "smoke.xml").read_text()
        assert (tmp_path / "reports" / "load").is_dir()
    finally:
        done = _run_step(steps[down], env, tmp_path, github_env)
        assert done.returncode == 0, done.stderr
        assert not docker_client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={project}"}
        )
