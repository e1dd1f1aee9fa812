"""Output outside a terminal keeps its full width: rich's 80-column default folded and cut hints (`…`)."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.emulator import EmulatorProcess
from tests.helpers import run_orchestrator


def test_piped_smoke_table_shows_whole_hints_on_one_line(emulator: EmulatorProcess, tmp_path: Path) -> None:
    done = run_orchestrator("smoke", "--url", emulator.url, cwd=tmp_path, env={"COLUMNS": ""})
    assert done.returncode in (0, 1), done.stderr
    assert "…" not in done.stdout
    [skip_row] = [line for line in done.stdout.splitlines() if "SKIP" in line]
    assert "no API key configured" in skip_row and "ORCHESTRATOR_SECRETS__API_KEY" in skip_row
    assert any(len(line) > 80 for line in done.stdout.splitlines())


def test_piped_config_show_keeps_long_values_whole(tmp_path: Path) -> None:
    model = "some-organisation-with-a-long-name/" + "a-model-name-long-enough-to-pass-eighty-columns-AWQ"
    done = run_orchestrator("config", "show", "--set", f"model.id={model}", cwd=tmp_path, env={"COLUMNS": ""})
    assert done.returncode == 0, done.stderr
    assert any(model in line and "model.id" in line for line in done.stdout.splitlines()), done.stdout


def test_columns_still_wins_when_set(emulator: EmulatorProcess, tmp_path: Path) -> None:
    done = run_orchestrator("smoke", "--url", emulator.url, cwd=tmp_path, env={"COLUMNS": "100"})
    assert max(len(line) for line in done.stdout.splitlines()) <= 100
