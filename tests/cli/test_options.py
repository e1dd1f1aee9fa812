"""The settings flags every deployment command shares: precedence label, --set parsing, secrets refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli.options import load_cli_settings
from orchestrator.errors import ConfigError
from tests.helpers import isolate


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path)


def test_named_flags_beat_the_environment_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_HOST__PORT", "9001")
    settings = load_cli_settings(port=9002, gpus="none")
    assert settings.host.port == 9002
    assert settings.source_of("host.port") == "flag --port"
    assert settings.source_of("host.gpus") == "flag --gpus"


def test_set_reaches_any_setting_including_lists() -> None:
    settings = load_cli_settings(
        set_values=["limits.max_batch_size=16", 'engine.extra_args=["--cuda-graphs", "0"]']
    )
    assert settings.limits.max_batch_size == 16
    assert settings.engine.extra_args == ["--cuda-graphs", "0"]
    assert settings.source_of("engine.extra_args") == "flag --set"
    words = load_cli_settings(set_values=["engine.extra_args=--cuda-graphs 0 --json-output"])
    assert words.engine.extra_args == ["--cuda-graphs", "0", "--json-output"]


def test_secrets_are_refused_as_flags_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as info:
        load_cli_settings(set_values=["secrets.api_key=never-print-me-123"])
    message = str(info.value)
    assert "never-print-me" not in message
    assert "ORCHESTRATOR_SECRETS__API_KEY" in message
    assert info.value.exit_code == 2


def test_malformed_set_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        load_cli_settings(set_values=["host.port"])
    assert "PATH=VALUE" in str(info.value)
