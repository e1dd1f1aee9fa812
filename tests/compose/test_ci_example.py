"""The CI example workflow: valid YAML, the promised order (emulator up, smoke, load with an SLO gate, down that
always runs), and every `orchestrator` flag it uses exists on the real CLI."""

from __future__ import annotations

import shlex
from typing import Any

import typer.main
import yaml

from orchestrator.cli import app
from tests.compose.conftest import REPO

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
