"""`--help` lists flags without a value type: typer's rich help once showed `<bool>` on `--help` and every flag."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_orchestrator


@pytest.mark.parametrize("command", [[], ["up"], ["down"], ["smoke"], ["load"], ["config", "show"]])
def test_flags_show_no_type_options_with_values_keep_theirs(command: list[str], tmp_path: Path) -> None:
    done = run_orchestrator(*command, "--help", cwd=tmp_path, env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "<bool>" not in done.stdout
    [help_line] = [line for line in done.stdout.splitlines() if "Show this message and exit." in line]
    assert help_line.split()[1:3] == ["--help", "Show"]  # the flag, then straight its help
    if command == ["up"]:
        assert any("--port" in line and "<int>" in line for line in done.stdout.splitlines())
