"""Settings are validated once: `load_settings` checks them, the plan trusts that, and a changed copy is checked."""

from __future__ import annotations

from pathlib import Path

import pytest

import orchestrator.config.validation as validation
from orchestrator.config import gpus
from orchestrator.config.loading import load_settings
from orchestrator.errors import ConfigError
from orchestrator.launch.plan import build_plan
from tests.helpers import isolate


def test_the_plan_does_not_validate_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)
    calls = {"problems": 0, "parse_gpus": 0}
    real_problems, real_parse = validation.problems, gpus.parse_gpus

    def counting_problems(settings: object) -> object:
        calls["problems"] += 1
        return real_problems(settings)  # type: ignore[arg-type]

    def counting_parse(text: str) -> gpus.GpuSelection:
        calls["parse_gpus"] += 1
        return real_parse(text)

    monkeypatch.setattr(validation, "problems", counting_problems)
    monkeypatch.setattr("orchestrator.config.settings.parse_gpus", counting_parse)
    settings = load_settings({"host.gpus": "0,1"}, env_file=None)
    build_plan(settings, gpu_count=2)
    assert calls == {"problems": 1, "parse_gpus": 1}

    changed = settings.model_copy(
        update={"limits": settings.limits.model_copy(update={"max_input_tokens": 9999})}
    )
    assert not changed.validated
    with pytest.raises(ConfigError, match="max_input_tokens"):
        build_plan(changed, gpu_count=2)  # a copy is checked again, and the broken rule is caught
    assert calls["problems"] == 2
