"""The README's configuration table stays in step with the settings model."""

from __future__ import annotations

from pathlib import Path

from orchestrator.config.settings import setting_paths
from orchestrator.config.table import BEGIN, END, render_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_table_matches_settings() -> None:
    text = README.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "README lost its settings-table markers"
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == render_table(), "run: python -m orchestrator.config.table README.md"


def test_table_lists_every_setting() -> None:
    table = render_table()
    for path in setting_paths():
        assert f"| `{path}` |" in table
