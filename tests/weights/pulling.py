"""Running the real `orchestrator pull` against the Hub stand-in, and reading what it left in the cache."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.emulator.hub import MISTRAL_AWQ, HubStandIn
from tests.fixtures.hub import hub_env
from tests.helpers import ORCHESTRATOR

REPO_FOLDER = "models--TheBloke--Mistral-7B-Instruct-v0.2-AWQ"


@dataclass
class Pulled:
    returncode: int
    events: list[dict[str, Any]]
    stdout: str
    stderr: str

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]

    @property
    def last(self) -> dict[str, Any]:
        return self.events[-1]


def pull_env(hub: HubStandIn, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in hub_env(hub, tmp_path / "home").items() if not k.startswith("ORCHESTRATOR_")}
    env.update(ORCHESTRATOR_HOST__CACHE_DIR=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    env.update(extra)
    return env


def parse(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def run_pull(hub: HubStandIn, tmp_path: Path, *args: str, timeout: float = 120, **extra: str) -> Pulled:
    done = subprocess.run(
        [ORCHESTRATOR, "pull", "--json", *args],
        cwd=tmp_path,
        env=pull_env(hub, tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Pulled(done.returncode, parse(done.stdout), done.stdout, done.stderr)


def repo_dir(tmp_path: Path) -> Path:
    return tmp_path / "data" / "hub" / REPO_FOLDER


def snapshot(hub: HubStandIn, tmp_path: Path) -> Path:
    return repo_dir(tmp_path) / "snapshots" / hub.repos[MISTRAL_AWQ].refs["main"]


def downloads(hub: HubStandIn) -> list[dict[str, Any]]:
    """File transfers the stand-in served (resolve GETs and CDN GETs), in order."""
    return [
        r
        for r in hub.requests()
        if r["method"] == "GET" and ("/resolve/" in r["path"] or r["server"] == "cdn")
    ]


def start_pull_until(
    hub: HubStandIn, tmp_path: Path, path: str, at_least: int
) -> tuple[subprocess.Popen[str], list[dict[str, Any]]]:
    """A running `orchestrator pull --json`, returned once `path` has `at_least` bytes on disk (events so far)."""
    process = subprocess.Popen(
        [ORCHESTRATOR, "pull", "--json"], cwd=tmp_path, env=pull_env(hub, tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    seen: list[dict[str, Any]] = []
    for line in process.stdout:
        seen.append(json.loads(line))
        event = seen[-1]
        if event.get("path") == path and event.get("state") == "downloading" and event["bytes"] >= at_least:
            return process, seen
    process.wait(timeout=10)
    stderr = process.stderr.read() if process.stderr is not None else ""
    raise AssertionError(
        f"the pull ended (exit {process.returncode}) before {path} reached {at_least} bytes: {seen[-3:]}; "
        f"stderr: {stderr[-2000:]}"
    )
