"""`.gitignore` keeps what the tool writes in a checkout out of commits: tokens, weights and reports."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

IGNORED = [
    "compose/secrets/hf_token",  # docker-compose.yml's HF_TOKEN_FILE default
    "compose/data/models--TheBloke--Mistral-7B-Instruct-v0.2-AWQ/blobs/x",  # its TGI_CACHE_DIR default
    "secrets/hf_token",  # the same, compose file rendered at the top (`orchestrator compose render -o ...`)
    "data/models--x/blobs/y",
    "load-report/summary.json",  # `orchestrator load`'s default --report-dir
    "load-report/sweep/rate-4/samples.jsonl",
    "junit.xml",
    ".env",
    "compose/.env",
    "orchestrator.toml",
]
KEPT = [
    "compose/docker-compose.yml",
    "orchestrator/load/report.py",
    "docs/loadtest.md",
    "tests/load/test_cli.py",
]


@pytest.fixture
def check_ignore(tmp_path: Path) -> Path:
    """A scratch repository holding only this `.gitignore` (works from a tarball too: no .git needed)."""
    if shutil.which("git") is None:
        pytest.fail("git is needed to read .gitignore as git does")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    return tmp_path


def _ignored(repo: Path, paths: list[str]) -> set[str]:
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], cwd=repo, capture_output=True, text=True, check=False
    )
    assert done.returncode in (0, 1), done.stderr
    return set(done.stdout.split())


def test_secrets_weights_and_reports_are_ignored(check_ignore: Path) -> None:
    assert _ignored(check_ignore, IGNORED) == set(IGNORED)


def test_sources_and_docs_are_not(check_ignore: Path) -> None:
    assert _ignored(check_ignore, KEPT) == set()
