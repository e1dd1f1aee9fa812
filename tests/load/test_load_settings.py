"""`orchestrator load` reads the settings like every other command: the endpoint and the API key may live in
`./.env`, and the key reaches the Locust processes through their environment, never their command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.load import runner as load_runner
from orchestrator.load.locust_command import build_command
from orchestrator.load.request import LoadRequest, LoadResult
from tests.fixtures.emulator import EmulatorProcess
from tests.helpers import isolate, run_orchestrator
from tests.load.test_cli import fake_summary

KEY = "load-dotenv-key-5f1c"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[LoadRequest]:
    seen: list[LoadRequest] = []

    def fake_run(req: LoadRequest, **_: Any) -> LoadResult:
        seen.append(req)
        return LoadResult(req, fake_summary(), 0, req.report_dir / "locust.log")

    monkeypatch.setattr(load_runner, "run_load", fake_run)
    return seen


def test_endpoint_and_api_key_come_from_dotenv(workdir: Path, captured: list[LoadRequest]) -> None:
    (workdir / ".env").write_text(f"ORCHESTRATOR_HOST__PORT=8123\nORCHESTRATOR_SECRETS__API_KEY={KEY}\n")
    out = CliRunner().invoke(app, ["load", "--report-dir", str(workdir / "r")])
    assert out.exit_code == 0, out.output
    (req,) = captured
    assert req.url == "http://127.0.0.1:8123" and req.api_key == KEY
    assert KEY not in repr(req) and KEY not in " ".join(build_command(req))
    assert KEY not in out.output


def test_url_beats_the_settings_endpoint_and_no_key_means_none(
    workdir: Path, captured: list[LoadRequest]
) -> None:
    (workdir / ".env").write_text("ORCHESTRATOR_HOST__PORT=8123\n")
    out = CliRunner().invoke(app, ["load", "--url", "http://127.0.0.1:9", "--report-dir", str(workdir / "r")])
    assert out.exit_code == 0, out.output
    (req,) = captured
    assert req.url == "http://127.0.0.1:9" and req.api_key is None


def test_errors_are_printed_like_every_other_command(workdir: Path) -> None:
    out = CliRunner().invoke(app, ["load", "--url", "http://127.0.0.1:9", "--duration", "soon"])
    assert out.exit_code == 2
    assert out.output.startswith("Error: --duration 'soon' is not a duration")
    (workdir / ".env").write_text("ORCHESTRATOR_HOST__PORT=not-a-port\n")
    bad = CliRunner().invoke(app, ["load"])
    assert bad.exit_code == 2 and "Error:" in bad.output and "host.port" in bad.output


@pytest.mark.slow
def test_a_key_only_in_dotenv_authenticates_every_user_against_a_keyed_emulator(tmp_path: Path) -> None:
    # Real emulator requiring the key, real console script and Locust; the key is only in ./.env.
    with EmulatorProcess(("--api-key", KEY)) as emu:
        for with_key in (True, False):
            work = tmp_path / ("with-key" if with_key else "without-key")
            work.mkdir()
            key_line = f"ORCHESTRATOR_SECRETS__API_KEY={KEY}\n" if with_key else ""
            (work / ".env").write_text(f"ORCHESTRATOR_HOST__PORT={emu.port}\n{key_line}")
            done = run_orchestrator(
                "load", "--scenario", "mix", "--users", "4", "--duration", "2s", "--input-tokens", "32",
                "--output-tokens", "4", "--report-dir", "r", "--json", cwd=work, timeout=120,
            )  # fmt: skip
            # without the key every request gets 401: the run fails (exit 7), as any run whose requests all fail
            assert done.returncode == (0 if with_key else 7), done.stdout + done.stderr
            figures = json.loads(done.stdout)["figures"]
            if with_key:
                assert figures["all"]["succeeded"] > 0 and figures["all"]["errors"] == {}, figures["all"]
                assert {"generate", "stream", "chat", "client"} <= set(figures)
            else:
                assert figures["all"]["succeeded"] == 0
                assert all(kind.startswith("401") for kind in figures["all"]["errors"]), figures["all"]
            for written in (work / "r").iterdir():
                assert KEY not in written.read_text(errors="replace"), written
            assert KEY not in done.stdout + done.stderr
