"""Helpers shared by tests of several areas: a settings-free environment, and the console script as a real process.

Settings come from ORCHESTRATOR_* variables, `.env` and `orchestrator.toml` in the working directory, and secret
files land under XDG_CACHE_HOME; a test that wants the defaults (or only its own values) must shut all of these out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

__all__ = ["ORCHESTRATOR", "clean_environ", "isolate", "run_orchestrator"]

ORCHESTRATOR = str(Path(sys.executable).with_name("orchestrator"))
"""The installed console script, next to the interpreter running the tests."""


def clean_environ() -> dict[str, str]:
    """This process's environment without any ORCHESTRATOR_* variable (for a child process)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}


def isolate(monkeypatch: pytest.MonkeyPatch, directory: Path, *, cache_home: bool = True) -> Path:
    """For this test: no ORCHESTRATOR_* variables, `directory` as the working directory (no stray .env or TOML)
    and, with `cache_home`, XDG_CACHE_HOME under it so secret files stay inside the test. Returns `directory`."""
    for key in list(os.environ):
        if key.startswith("ORCHESTRATOR_"):
            monkeypatch.delenv(key)
    if cache_home:
        monkeypatch.setenv("XDG_CACHE_HOME", str(directory / "xdg-cache"))
    monkeypatch.chdir(directory)
    return directory


def run_orchestrator(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The console script in a fresh process, with no ORCHESTRATOR_* variables but those in `env`."""
    return subprocess.run(
        [ORCHESTRATOR, *args],
        cwd=cwd,
        env={**clean_environ(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
