"""Fixtures for runtime tests: isolated settings for the emulator image, and container clean-up by label."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.config.settings import Settings
from tests.fixtures.emulator import free_port
from tests.helpers import isolate

MANAGED = "org.tgi-orchestrator.managed=true"


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty working directory, no ORCHESTRATOR_* variables, secrets written under the test's own cache home."""
    return isolate(monkeypatch, tmp_path)


def remove_test_containers(docker_client: Any, prefix: str) -> None:
    for container in docker_client.containers.list(all=True, filters={"label": MANAGED}):
        if container.name.startswith(prefix):
            container.remove(force=True)


@pytest.fixture
def deployment_name(docker_client: Any) -> Iterator[str]:
    """A unique container name; every container of ours whose name starts with it is removed afterwards."""
    name = f"orch-test-{uuid.uuid4().hex[:10]}"
    yield name
    remove_test_containers(docker_client, name)


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def emulator_settings(isolated_env: Path, emulator_image: str, deployment_name: str) -> SettingsFactory:
    """`factory(*emulator_args, name_suffix="", image=None, **dotted_overrides)` -> validated Settings."""

    def factory(
        *emulator_args: str, name_suffix: str = "", image: str | None = None, **overrides: Any
    ) -> Settings:
        values: dict[str, Any] = {
            "engine.image": image or emulator_image,
            "engine.extra_args": ["--emulator-profile", "instant", *emulator_args],
            "host.gpus": "none",
            "host.port": free_port(),
            "host.cache_dir": str(isolated_env / "cache"),
            "host.container_name": deployment_name + name_suffix,
            "timeouts.startup_deadline": 120.0,
        }
        values.update({k.replace("__", "."): v for k, v in overrides.items()})
        return load_settings(values, env_file=None)

    return factory
