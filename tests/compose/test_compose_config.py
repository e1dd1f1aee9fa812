"""`docker-compose config` (Debian's Compose v1) validates the checked-in file, and what Compose resolves agrees
with the settings and the launch plan: image, command (token limits), port binding, shm size, grace period, GPUs,
healthcheck; also when the settings' own ORCHESTRATOR_* variables override the defaults."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.config.loading import load_settings
from orchestrator.config.settings import Settings
from orchestrator.launch.plan import build_plan
from tests.compose.conftest import COMPOSE_FILE
from tests.fixtures.docker_engine import require_or_skip

OVERRIDES = {
    "ORCHESTRATOR_HOST__PORT": "18080",
    "ORCHESTRATOR_HOST__BIND_ADDRESS": "127.0.0.2",
    "ORCHESTRATOR_HOST__SHM_SIZE": "2g",
    "ORCHESTRATOR_MODEL__ID": "someone/Other-Model-AWQ",
    "ORCHESTRATOR_LIMITS__MAX_INPUT_TOKENS": "2000",
    "ORCHESTRATOR_LIMITS__MAX_TOTAL_TOKENS": "3000",
    "ORCHESTRATOR_LIMITS__MAX_BATCH_PREFILL_TOKENS": "2048",
    "ORCHESTRATOR_LIMITS__MAX_CONCURRENT_REQUESTS": "64",
}


def compose_config(env: dict[str, str], *profiles: str, compose_file: Path = COMPOSE_FILE) -> dict[str, Any]:
    """Run `docker-compose config` on a copy of the compose directory; returns the resolved document."""
    binary = shutil.which("docker-compose")
    if binary is None:
        require_or_skip("docker-compose (Debian package docker-compose) is not installed")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRATOR_", "COMPOSE_"))}
    args = [str(binary), "-f", str(compose_file)]
    for profile in profiles:
        args += ["--profile", profile]
    done = subprocess.run(
        [*args, "config"], env={**base, **env}, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    document = yaml.safe_load(done.stdout)
    assert isinstance(document, dict)
    return document


def _seconds(text: str) -> float:
    total, number = 0.0, ""
    units = {"h": 3600, "m": 60, "s": 1}
    for char in str(text):
        if char.isdigit() or char == ".":
            number += char
        else:
            total += float(number) * units[char]
            number = ""
    return total + (float(number) if number else 0.0)


def _assert_agrees(service: dict[str, Any], settings: Settings, *, gpu: bool) -> None:
    plan = build_plan(settings)
    command = [str(arg) for arg in service["command"]]
    assert command == plan.command
    flags = dict(zip(command[::2], command[1::2], strict=False))
    assert flags["--model-id"] == settings.model.id
    assert int(flags["--max-input-tokens"]) == settings.limits.max_input_tokens
    assert int(flags["--max-total-tokens"]) == settings.limits.max_total_tokens
    assert int(flags["--max-batch-prefill-tokens"]) == settings.limits.max_batch_prefill_tokens
    assert service["ports"] == [f"{settings.host.bind_address}:{settings.host.port}:80/tcp"]
    assert service["shm_size"] == settings.host.shm_size
    assert _seconds(service["stop_grace_period"]) == pytest.approx(settings.timeouts.stop_grace)
    assert _seconds(service["stop_grace_period"]) > 90  # TGI drains in-flight requests for 90 s
    health = service["healthcheck"]
    assert _seconds(health["start_period"]) >= settings.timeouts.startup_deadline
    assert health["test"] == plan.healthcheck.test and "/health" in health["test"][-1]
    assert service["environment"] == plan.environment
    assert {"source": "hf_token", "target": "/data/token"} in service["secrets"]
    assert [v.split(":")[1] for v in service["volumes"]] == ["/data"]
    devices = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices")
    if gpu:
        assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    else:
        assert devices is None


def test_compose_config_validates_every_profile() -> None:
    document = compose_config({}, "gpu", "emulator", "vllm", "monitoring")
    assert set(document["services"]) == {"tgi", "tgi-emulator", "vllm", "prometheus"}
    assert {tuple(s["profiles"]) for s in document["services"].values()} == {
        ("gpu",),
        ("emulator",),
        ("vllm",),
        ("monitoring",),
    }
    assert document["services"]["prometheus"]["ports"] == ["127.0.0.1:9090:9090/tcp"]


def test_defaults_agree_with_the_settings_and_the_plan() -> None:
    document = compose_config({}, "gpu", "emulator")
    settings = load_settings(env_file=None)
    assert document["services"]["tgi"]["image"] == settings.engine.image
    assert document["services"]["tgi"]["image"] == "ghcr.io/huggingface/text-generation-inference:3.3.7"
    assert document["services"]["tgi"]["ports"] == ["127.0.0.1:8080:80/tcp"]
    _assert_agrees(document["services"]["tgi"], settings, gpu=True)
    _assert_agrees(document["services"]["tgi-emulator"], settings, gpu=False)


def test_the_settings_variables_drive_compose_and_settings_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    document = compose_config(OVERRIDES, "gpu", "emulator")
    for name, value in OVERRIDES.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env_file=None)
    assert settings.host.port == 18080 and settings.limits.max_input_tokens == 2000
    _assert_agrees(document["services"]["tgi"], settings, gpu=True)
    _assert_agrees(document["services"]["tgi-emulator"], settings, gpu=False)
