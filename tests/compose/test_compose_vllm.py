"""The `vllm` Compose profile: the same settings rendered from vLLM's own launch plan, in step with the settings like
the TGI services, through `docker-compose config` (Debian's Compose v1) as well as the rendering."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.config.engine_choice import as_engine
from orchestrator.config.loading import load_settings
from orchestrator.errors import ConfigError
from orchestrator.launch.compose import render_compose, write_compose
from orchestrator.launch.plan import build_plan
from tests.compose.test_compose_config import _seconds, compose_config
from tests.compose.test_compose_emulator import TOKEN, _env, compose_up
from tests.fixtures.emulator import free_port

API_KEY = "sk-compose-vllm-key-0042"

LIMIT_OVERRIDES = {
    "ORCHESTRATOR_HOST__PORT": "18080",
    "ORCHESTRATOR_HOST__BIND_ADDRESS": "127.0.0.2",
    "ORCHESTRATOR_HOST__SHM_SIZE": "2g",
    "ORCHESTRATOR_LIMITS__MAX_INPUT_TOKENS": "2000",
    "ORCHESTRATOR_LIMITS__MAX_TOTAL_TOKENS": "3000",
    "ORCHESTRATOR_LIMITS__MAX_BATCH_PREFILL_TOKENS": "2048",
}


def _vllm(document: dict[str, object]) -> dict[str, object]:
    services = document["services"]
    assert isinstance(services, dict)
    service = services["vllm"]
    assert isinstance(service, dict)
    return service


def _assert_agrees(service: dict[str, object], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = as_engine(load_settings(env_file=None), "vllm")
    plan = build_plan(settings)
    command = [str(arg) for arg in service["command"]]  # type: ignore[attr-defined]
    assert command == plan.command
    assert command[0] == settings.model.id  # `vllm serve MODEL`
    assert command[command.index("--max-model-len") + 1] == str(settings.limits.max_total_tokens)
    assert command[command.index("--max-num-batched-tokens") + 1] == str(
        settings.limits.max_batch_prefill_tokens
    )
    assert service["image"] == "vllm/vllm-openai:v0.33.0"
    assert service["entrypoint"][-2:] == ["vllm", "serve"]  # type: ignore[index]
    assert service["ports"] == [f"{settings.host.bind_address}:{settings.host.port}:8000/tcp"]
    assert service["shm_size"] == settings.host.shm_size
    assert service["environment"] == plan.environment and plan.environment["VLLM_NO_USAGE_STATS"] == "1"
    grace = _seconds(str(service["stop_grace_period"]))
    assert grace == pytest.approx(settings.timeouts.stop_grace)
    assert int(command[command.index("--shutdown-timeout") + 1]) < grace  # the drain ends before the kill
    assert service["healthcheck"]["test"] == plan.healthcheck.test  # type: ignore[index]
    assert "8000/health" in plan.healthcheck.test[-1]


def test_vllm_profile_agrees_with_the_vllm_plan_of_the_default_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _assert_agrees(_vllm(compose_config({}, "vllm")), {}, monkeypatch)


def test_the_settings_variables_drive_the_vllm_service_too(monkeypatch: pytest.MonkeyPatch) -> None:
    _assert_agrees(_vllm(compose_config(LIMIT_OVERRIDES, "vllm")), LIMIT_OVERRIDES, monkeypatch)


def test_an_api_key_is_exported_as_vllm_api_key_from_the_secret_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_SECRETS__API_KEY", "key_do_not_leak_42")
    text = render_compose(load_settings(env_file=None))
    assert "do_not_leak" not in text
    service = yaml.safe_load(text)["services"]["vllm"]
    assert 'VLLM_API_KEY="$$(cat /run/secrets/tgi-api-key)"; export VLLM_API_KEY' in service["entrypoint"][2]
    assert {s["target"] for s in service["secrets"]} == {"/data/token", "/run/secrets/tgi-api-key"}
    tgi = yaml.safe_load(text)["services"]["tgi"]
    assert 'API_KEY="$$(cat /run/secrets/tgi-api-key)"; export API_KEY' in tgi["entrypoint"][2]


def test_vllm_settings_render_the_tgi_services_as_tgi_and_keep_their_own_extra_args() -> None:
    settings = load_settings(
        {"engine.kind": "vllm", "engine.extra_args": ["--enforce-eager"], "timeouts.stop_grace": 100},
        env_file=None,
    )
    doc = yaml.safe_load(render_compose(settings))
    assert doc["services"]["tgi"]["image"] == "ghcr.io/huggingface/text-generation-inference:3.3.7"
    assert "--enforce-eager" not in doc["services"]["tgi"]["command"]
    vllm = doc["services"]["vllm"]["command"]
    assert vllm[-1] == "--enforce-eager" and vllm[vllm.index("--shutdown-timeout") + 1] == "90"


def test_a_stop_grace_only_tgi_refuses_leaves_tgi_out_of_a_vllm_compose_file() -> None:
    settings = load_settings({"engine.kind": "vllm", "timeouts.stop_grace": 60}, env_file=None)
    text = render_compose(settings)
    doc = yaml.safe_load(text)
    assert set(doc["services"]) == {"vllm", "prometheus"}
    assert "# The tgi profile is not rendered" in text and "timeouts.stop_grace" in text
    command = doc["services"]["vllm"]["command"]
    assert command[command.index("--shutdown-timeout") + 1] == "50"


def test_settings_vllm_refuses_leave_the_profile_out_with_the_reason() -> None:
    # A prefill budget below vLLM's default max_num_seqs is fine for TGI, not for vLLM.
    settings = load_settings(
        {"limits.max_batch_prefill_tokens": 512, "limits.max_input_tokens": 500}, env_file=None
    )
    text = render_compose(settings)
    doc = yaml.safe_load(text)
    assert "vllm" not in doc["services"] and "tgi" in doc["services"]
    assert "# The vllm profile is not rendered" in text and "limits.max_batch_prefill_tokens" in text
    with pytest.raises(
        ConfigError, match="max_batch_prefill_tokens"
    ):  # vLLM's own settings: refused as always
        render_compose(as_engine(settings, "vllm"))


@pytest.mark.docker
def test_vllm_profile_runs_the_vllm_emulator_image_with_both_secrets_by_file(
    tmp_path: Path, docker_client: Any, emulator_vllm_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRATOR_SECRETS__API_KEY", API_KEY)
    settings = load_settings(
        {
            "engine.kind": "vllm",
            "engine.image": emulator_vllm_image,
            "engine.extra_args": ["--emulator-profile", "instant"],
            "host.gpus": "none",
        },
        env_file=None,
    )
    compose_file = write_compose(settings, tmp_path / "compose" / "docker-compose.yml")
    (tmp_path / "api_key").write_text(API_KEY)
    port = free_port()
    env = {**_env(tmp_path, port), "TGI_API_KEY_FILE": str(tmp_path / "api_key")}
    with compose_up(
        compose_file, env, docker_client, wait_healthy=False, profiles=("vllm",), service="vllm"
    ) as c:
        url = f"http://127.0.0.1:{port}/v1/completions"
        body = json.dumps({"prompt": "Hi", "max_tokens": 2}).encode()
        headers = {"Content-Type": "application/json"}
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=10)
        assert refused.value.code == 401
        request = urllib.request.Request(url, body, {**headers, "Authorization": f"Bearer {API_KEY}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.loads(answer.read())["usage"]["completion_tokens"] == 2
        assert c.attrs["HostConfig"]["PortBindings"]["8000/tcp"] == [
            {"HostIp": "127.0.0.1", "HostPort": str(port)}
        ]
        environ = c.exec_run(["cat", "/proc/1/environ"]).output
        assert f"VLLM_API_KEY={API_KEY}".encode() in environ and f"HF_TOKEN={TOKEN}".encode() in environ
        assert API_KEY not in str(c.attrs["Config"]) and TOKEN not in str(c.attrs["Config"])
        assert "vLLM server version 0.33.0" in c.logs().decode(errors="replace")
