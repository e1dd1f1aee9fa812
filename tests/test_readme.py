"""The README's examples work as written: its Python client snippet runs against a real emulator process."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from tests.fixtures.emulator import EmulatorProcess

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block(section: str) -> str:
    text = README.read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", body, re.S)
    assert match, f"no python example under '## {section}'"
    return match.group(1)


def test_client_example_runs_against_the_emulator(emulator: EmulatorProcess) -> None:
    code = _python_block("Python client").replace("http://127.0.0.1:8080", emulator.url)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[0].isdigit() and int(lines[0]) > 3, lines  # token count of the formatted prompt
    assert "length" in lines[1] or "eos_token" in lines[1], lines
    assert len(out.getvalue()) > 40


def test_readme_names_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    setup = text.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^bash (\S+)", setup, re.M)
    assert commands == ["scripts/install-and-run.sh", "scripts/install-and-test.sh"]
    for command in commands:
        assert (README.parent / command).is_file()
    assert "install-and-test.sh" in (README.parent / ".ci" / "run").read_text()
