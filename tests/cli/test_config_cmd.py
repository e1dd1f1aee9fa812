"""`orchestrator config show / validate`, through typer's CliRunner and as a real process (exit codes, stderr)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.config.settings import setting_paths
from tests.helpers import run_orchestrator as orchestrator
from tests.plan.helpers import isolated

__all__ = ["isolated"]

pytestmark = pytest.mark.usefixtures("isolated")

SECRET = "sk-CLISECRET-value"
runner = CliRunner()


def test_show_json_lists_every_value_with_its_source_and_masks_secrets(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated / "orchestrator.toml").write_text("[host]\ngpus = '0'\nshm_size = '2g'\n")
    (isolated / ".env").write_text(
        f"ORCHESTRATOR_HOST__SHM_SIZE=4g\nORCHESTRATOR_SECRETS__API_KEY={SECRET}\n"
    )
    monkeypatch.setenv("ORCHESTRATOR_LIMITS__MAX_BATCH_SIZE", "16")
    result = runner.invoke(
        app, ["config", "show", "--json", "--port", "9000", "--set", "model.revision=main"]
    )
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    data = json.loads(result.output)
    rows = data["settings"]
    assert rows["host.port"] == {"value": 9000, "source": "flag --port", "env": "ORCHESTRATOR_HOST__PORT"}
    assert rows["model.revision"]["source"] == "flag --set"
    assert rows["limits.max_batch_size"] == {
        "value": 16,
        "source": "env ORCHESTRATOR_LIMITS__MAX_BATCH_SIZE",
        "env": "ORCHESTRATOR_LIMITS__MAX_BATCH_SIZE",
    }
    assert (rows["host.shm_size"]["value"], rows["host.shm_size"]["source"]) == ("4g", ".env")
    assert (rows["host.gpus"]["value"], rows["host.gpus"]["source"]) == ("0", "orchestrator.toml")
    assert rows["secrets.api_key"]["value"] == "***"
    assert rows["secrets.hf_token"]["value"] is None
    assert rows["model.id"] == {
        "value": "TheBloke/Mistral-7B-Instruct-v0.2-AWQ",
        "source": "default",
        "env": "ORCHESTRATOR_MODEL__ID",
    }
    assert rows["host.cache_dir"]["value"] == "~/.cache/tgi-orchestrator/data"
    assert data["tgi_version"] == "3.3.7"
    assert data["warnings"] == []
    assert list(rows) == setting_paths()


def test_show_table_names_sources_and_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_SECRETS__HF_TOKEN", SECRET)
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["config", "show", "--bind", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") >= 3}
    assert (
        "***" in lines["secrets.hf_token"]
        and "env ORCHESTRATOR_SECRETS__HF_TOKEN" in lines["secrets.hf_token"]
    )
    assert "0.0.0.0" in lines["host.bind_address"] and "flag --bind" in lines["host.bind_address"]
    assert "warning:" in result.output and "without an API key" in result.output


def test_validate_ok_and_warnings() -> None:
    ok = runner.invoke(app, ["config", "validate"])
    assert ok.exit_code == 0
    assert "OK: settings are valid for TGI 3.3.7" in ok.output
    risky = runner.invoke(app, ["config", "validate", "--gpus", "none"])
    assert risky.exit_code == 0
    assert "warning: no GPU is requested" in risky.output


def test_validate_reports_every_problem_and_exits_2() -> None:
    result = runner.invoke(
        app, ["config", "validate", "--port", "0", "--max-input-tokens", "5000", "--gpus", "0,banana"]
    )
    assert result.exit_code == 2
    text = result.output
    assert "4 invalid settings" in text
    assert "host.port = 0 (from flag --port): must be in 1-65535. Fix:" in text
    assert (
        "limits.max_input_tokens = 5000 (from flag --max-input-tokens): must be < limits.max_total_tokens"
        in text
    )
    assert "limits.max_batch_prefill_tokens = 4096 (from default)" in text
    assert "host.gpus = '0,banana' (from flag --gpus)" in text


# -- real processes ------------------------------------------------------------------------------------------


def test_process_bad_env_file_value_exits_2_naming_setting_source_value_and_fix(isolated: Path) -> None:
    (isolated / ".env").write_text("ORCHESTRATOR_HOST__PORT=99999\nORCHESTRATOR_HOST__SHM_SIZE=huge\n")
    done = orchestrator("config", "validate", cwd=isolated)
    assert done.returncode == 2, done
    assert "host.port = 99999 (from .env): must be in 1-65535. Fix: pick a free port" in done.stderr
    assert "host.shm_size = 'huge' (from .env): must be a positive size" in done.stderr
    assert done.stdout == ""


def test_process_bad_toml_value_exits_2(isolated: Path) -> None:
    (isolated / "orchestrator.toml").write_text("[model]\nquantize = 'int3'\n[timeouts]\nstop_grace = 30\n")
    done = orchestrator("config", "show", "--json", cwd=isolated)
    assert done.returncode == 2
    assert "model.quantize = 'int3' (from orchestrator.toml): TGI 3.3.7 accepts --quantize awq" in done.stderr
    assert "Fix: set model.quantize" in done.stderr
    assert (
        "timeouts.stop_grace = 30.0 (from orchestrator.toml): must be longer than TGI's 90 s drain"
        in done.stderr
    )
    assert "SIGKILL" in done.stderr


def test_process_type_errors_in_files_name_the_source(isolated: Path) -> None:
    (isolated / ".env").write_text("ORCHESTRATOR_HOST__PORT=eighty\n")
    done = orchestrator("config", "validate", cwd=isolated)
    assert done.returncode == 2
    assert "host.port = 'eighty' (from .env)" in done.stderr
    assert "Fix:" in done.stderr


def test_process_custom_toml_path_and_env_beat_it(isolated: Path) -> None:
    custom = isolated / "custom.toml"
    custom.write_text("[host]\nport = 9100\ncontainer_name = 'from-toml'\n")
    done = orchestrator(
        "config",
        "show",
        "--json",
        "--config",
        str(custom),
        cwd=isolated,
        env={"ORCHESTRATOR_HOST__PORT": "9200"},
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["settings"]
    assert (rows["host.port"]["value"], rows["host.port"]["source"]) == (9200, "env ORCHESTRATOR_HOST__PORT")
    assert (rows["host.container_name"]["value"], rows["host.container_name"]["source"]) == (
        "from-toml",
        str(custom),
    )


def test_process_secrets_never_printed(isolated: Path) -> None:
    env = {"ORCHESTRATOR_SECRETS__API_KEY": SECRET, "ORCHESTRATOR_SECRETS__HF_TOKEN": SECRET + "2"}
    for args in (("config", "show"), ("config", "show", "--json"), ("config", "validate")):
        done = orchestrator(*args, cwd=isolated, env=env)
        assert done.returncode == 0, done.stderr
        assert "CLISECRET" not in done.stdout + done.stderr
