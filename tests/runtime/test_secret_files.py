"""Secret files are all-or-nothing: every failure of `runtime.create` leaves no secret on disk (real engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import DeploymentError, RuntimeUnavailableError
from orchestrator.launch.paths import secrets_dir
from orchestrator.launch.plan import build_plan
from orchestrator.runtime.containers import connect
from tests.runtime.conftest import SettingsFactory

pytestmark = [pytest.mark.docker]

SECRETS = {"secrets.hf_token": "hf_SECRETfilesTEST0123456789", "secrets.api_key": "sk-secret-files-test"}


def _names(docker_client: Any, name: str) -> list[str]:
    return [c.name for c in docker_client.containers.list(all=True, filters={"name": name})]


def test_missing_image_removes_the_secret_files(
    emulator_settings: SettingsFactory, docker_client: Any
) -> None:
    settings = emulator_settings(image="tgi-orchestrator/no-such-image:3.3.7", **SECRETS)
    settings.cache_dir.mkdir(parents=True, exist_ok=True)  # preflight's job in `up`
    plan = build_plan(settings)
    runtime = connect()
    with pytest.raises(DeploymentError, match="no-such-image"):
        runtime.create(plan)
    assert not secrets_dir(plan.container_name).exists()
    assert _names(docker_client, plan.container_name) == []


def test_unwritable_cache_home_is_a_clear_error_and_creates_nothing(
    emulator_settings: SettingsFactory, docker_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_dir = tmp_path / "cache-home-is-a-file"
    not_a_dir.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_dir))
    plan = build_plan(emulator_settings(**SECRETS))
    with pytest.raises(RuntimeUnavailableError) as caught:
        connect().create(plan)
    message = str(caught.value)
    assert str(secrets_dir(plan.container_name)) in message and "XDG_CACHE_HOME" in message
    assert SECRETS["secrets.api_key"] not in message and SECRETS["secrets.hf_token"] not in message
    assert _names(docker_client, plan.container_name) == []


def test_a_half_written_secrets_directory_is_removed(
    emulator_settings: SettingsFactory, docker_client: Any
) -> None:
    plan = build_plan(emulator_settings(**SECRETS))
    directory = secrets_dir(plan.container_name)
    (directory / plan.secret_files[-1].name).mkdir(parents=True)  # the last file cannot be written
    with pytest.raises(RuntimeUnavailableError, match="cannot write the secret files"):
        connect().create(plan)
    assert not directory.exists()  # including the first secret, which had been written
    assert _names(docker_client, plan.container_name) == []
