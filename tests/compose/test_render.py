"""`orchestrator compose render`: the checked-in file is the rendering of the default settings, and renderings
follow the launch plan and keep secrets out."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from orchestrator.cli import compose_cmd
from orchestrator.config.loading import load_settings
from orchestrator.config.settings import env_var_for
from orchestrator.launch.compose import launcher_args, render_compose
from orchestrator.launch.plan import build_plan
from tests.compose.conftest import COMPOSE_FILE
from tests.helpers import run_orchestrator

app = typer.Typer()


@app.callback()
def _group() -> None:
    """Only the compose group, independent of other command modules."""


compose_cmd.register(app)


def test_checked_in_file_is_the_rendering_of_the_default_settings() -> None:
    expected = render_compose(load_settings(env_file=None))
    assert COMPOSE_FILE.read_text(encoding="utf-8") == expected, (
        "compose/docker-compose.yml is stale: run `orchestrator compose render` with no ORCHESTRATOR_* set"
    )


def test_cli_check_passes_on_the_checked_in_file_and_fails_on_a_stale_one(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["compose", "render", "--check", "-o", str(COMPOSE_FILE)])
    assert ok.exit_code == 0, ok.output
    stale = tmp_path / "docker-compose.yml"
    stale.write_text(COMPOSE_FILE.read_text().replace("3600s", "60s"))
    bad = runner.invoke(app, ["compose", "render", "--check", "-o", str(stale)])
    assert bad.exit_code == 1
    assert "out of date" in bad.output and "-      start_period: 60s" in bad.output


def test_cli_render_writes_the_settings_it_is_given(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "docker-compose.yml"
    result = CliRunner().invoke(app, ["compose", "render", "-o", str(out), "--max-input-tokens", "2000"])
    assert result.exit_code == 0, result.output
    assert '"${ORCHESTRATOR_LIMITS__MAX_INPUT_TOKENS:-2000}"' in out.read_text()


def test_cli_render_rejects_bad_settings_with_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "docker-compose.yml"
    result = CliRunner().invoke(
        app, ["compose", "render", "-o", str(out), "--max-input-tokens", "5000", "--max-total-tokens", "4096"]
    )
    assert result.exit_code == 2
    assert "max_input_tokens" in result.output and not out.exists()


@pytest.mark.parametrize("target", ["/proc/x/y.yml", "under-a-file", "a-directory"])
def test_cli_render_to_an_unwritable_path_is_a_clear_exit_2(tmp_path: Path, target: str) -> None:
    (tmp_path / "a-file").write_text("")
    out = {"under-a-file": tmp_path / "a-file" / "y.yml", "a-directory": tmp_path}.get(target, Path(target))
    done = run_orchestrator("compose", "render", "-o", str(out), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--output" in done.stderr and str(out) in done.stderr and "cannot be written" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_check_of_an_unreadable_path_is_a_clear_exit_2(tmp_path: Path) -> None:
    done = run_orchestrator("compose", "render", "--check", "-o", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--output" in done.stderr and "cannot be read" in done.stderr and "Traceback" not in done.stderr


# Launcher flag -> the setting behind its value, written out here (not read from compose_render), so a wrong
# mapping or a wrong variable name fails.
SETTING_OF_FLAG = {
    "--model-id": "model.id",
    "--max-input-tokens": "limits.max_input_tokens",
    "--max-total-tokens": "limits.max_total_tokens",
    "--max-batch-prefill-tokens": "limits.max_batch_prefill_tokens",
    "--max-concurrent-requests": "limits.max_concurrent_requests",
    "--max-best-of": "limits.max_best_of",
    "--max-stop-sequences": "limits.max_stop_sequences",
    "--max-top-n-tokens": "limits.max_top_n_tokens",
}


def _substituted(path: str, default: object) -> str:
    return "${" + env_var_for(path) + ":-" + str(default) + "}"


def test_launcher_args_are_the_plan_command_with_settings_variables() -> None:
    settings = load_settings(env_file=None)
    plan = build_plan(settings)
    args = launcher_args(plan)
    assert len(args) == len(plan.command)
    substituted = set()
    for i, (literal, text) in enumerate(zip(plan.command, args, strict=True)):
        flag = plan.command[i - 1] if i else ""
        if flag in SETTING_OF_FLAG:
            path = SETTING_OF_FLAG[flag]
            assert literal == str(settings.value_at(path)), flag
            assert text == _substituted(path, literal), flag
            substituted.add(flag)
        else:
            assert text == literal.replace("$", "$$"), literal
    assert substituted == set(SETTING_OF_FLAG)
    assert (
        args[plan.command.index("--max-input-tokens") + 1] == "${ORCHESTRATOR_LIMITS__MAX_INPUT_TOKENS:-3696}"
    )


def test_port_bind_address_and_shm_size_use_the_settings_variables() -> None:
    settings = load_settings(env_file=None)
    doc = yaml.safe_load(render_compose(settings))
    for service in ("tgi", "tgi-emulator"):
        spec = doc["services"][service]
        host = settings.host
        bind, port = (
            _substituted("host.bind_address", host.bind_address),
            _substituted("host.port", host.port),
        )
        assert spec["ports"] == [f"{bind}:{port}:80"]
        assert spec["shm_size"] == _substituted("host.shm_size", host.shm_size)


def test_secret_values_never_reach_the_file_and_an_api_key_adds_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORCHESTRATOR_SECRETS__HF_TOKEN", "hf_do_not_leak")
    monkeypatch.setenv("ORCHESTRATOR_SECRETS__API_KEY", "key_do_not_leak")
    text = render_compose(load_settings(env_file=None))
    assert "do_not_leak" not in text
    doc = yaml.safe_load(text)
    assert doc["secrets"]["tgi_api_key"]["file"] == "${TGI_API_KEY_FILE:-./secrets/tgi_api_key}"
    for name in ("tgi", "tgi-emulator"):
        service = doc["services"][name]
        assert {s["target"] for s in service["secrets"]} == {"/data/token", "/run/secrets/tgi-api-key"}
        assert 'API_KEY="$$(cat /run/secrets/tgi-api-key)"' in service["entrypoint"][2]
        assert "environment" not in service or not any(
            "KEY" in k or "TOKEN" in k for k in service["environment"]
        )


def test_gpu_selection_is_rendered_as_a_device_reservation() -> None:
    doc = yaml.safe_load(render_compose(load_settings({"host.gpus": "0,1"}, env_file=None)))
    (device,) = doc["services"]["tgi"]["deploy"]["resources"]["reservations"]["devices"]
    assert device == {"driver": "nvidia", "device_ids": ["0", "1"], "capabilities": ["gpu"]}
    assert "deploy" not in doc["services"]["tgi-emulator"]
    command = doc["services"]["tgi"]["command"]
    assert command[command.index("--num-shard") + 1] == "2"


def test_every_variable_in_env_example_is_read_by_the_compose_file() -> None:
    example = (COMPOSE_FILE.parent / ".env.example").read_text()
    names = [line.split("=", 1)[0] for line in example.splitlines() if line and not line.startswith("#")]
    assert len(names) >= 8
    text = COMPOSE_FILE.read_text()
    for name in names:
        assert "${" + name + ":-" in text, f"{name} in .env.example is not used by docker-compose.yml"
