"""Without the `[emulator]` extra, the emulator says what to install instead of failing with a traceback."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from orchestrator.emulator.tgi import server


def test_missing_server_stack_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec

    def without_uvicorn(name: str, *args: Any) -> Any:
        return None if name == "uvicorn" else real(name, *args)

    monkeypatch.setattr(server.importlib.util, "find_spec", without_uvicorn)
    assert server.main(["--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "uvicorn missing" in err and "tgi-orchestrator[emulator]" in err
