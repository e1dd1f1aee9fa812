"""`orchestrator smoke` through typer's CliRunner against the loopback stub: exit codes, JSON, JUnit, flag errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from orchestrator.cli import smoke_cmd
from tests.helpers import isolate, run_orchestrator
from tests.smoke.tgi_stub import StubConfig, tgi_stub

LIMITS = ["--max-input-tokens", "64", "--max-total-tokens", "128"]

app = typer.Typer()


@app.callback()
def _group() -> None:
    """A group with only `smoke` in it, so these tests do not depend on other command modules."""


smoke_cmd.register(app)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path, cache_home=False)  # no stray .env / orchestrator.toml


def test_all_pass_exits_0_and_prints_a_table() -> None:
    with tgi_stub() as (url, _):
        result = CliRunner().invoke(app, ["smoke", "--url", url, *LIMITS])
    assert result.exit_code == 0, result.output
    assert "all checks passed: 8 passed, 0 failed, 1 skipped" in result.output
    assert "PASS" in result.output and "/generate_stream" in result.output


def test_a_failing_check_exits_1_and_writes_junit(tmp_path: Path) -> None:
    junit = tmp_path / "reports" / "smoke.xml"
    with tgi_stub(StubConfig(faults={"no_metrics"})) as (url, _):
        result = CliRunner().invoke(
            app, ["smoke", "--url", url, *LIMITS, "--json", "--junit-xml", str(junit)]
        )
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["ok"] is False and [c["name"] for c in data["checks"] if c["status"] == "fail"] == ["metrics"]
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["metrics"]


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_an_unwritable_junit_path_prints_the_report_then_exits_2_naming_the_flag(
    tmp_path: Path, where: str
) -> None:
    # A real process: the console script's own error handling, not only typer's runner.
    (tmp_path / "a-file").write_text("")
    junit = tmp_path / "a-file" / "smoke.xml" if where == "under-a-file" else Path("/proc/foo/x.xml")
    with tgi_stub() as (url, _):
        done = run_orchestrator(
            "smoke", "--url", url, *LIMITS, "--json", "--junit-xml", str(junit), cwd=tmp_path, timeout=120
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert json.loads(done.stdout)["ok"] is True  # the report came first and is complete
    assert "--junit-xml" in done.stderr and str(junit) in done.stderr and "cannot be written" in done.stderr
    assert "Traceback" not in done.stderr


def test_api_key_env_enables_the_401_check_and_the_key_never_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TGI_KEY", "s3cret-key")
    with tgi_stub(StubConfig(api_key="s3cret-key")) as (url, _):
        result = CliRunner().invoke(
            app, ["smoke", "--url", url, *LIMITS, "--api-key-env", "MY_TGI_KEY", "--json"]
        )
    assert result.exit_code == 0, result.output
    assert {c["name"]: c["status"] for c in json.loads(result.output)["checks"]}["api_key"] == "pass"
    assert "s3cret-key" not in result.output


def test_expect_model_overrides_the_settings() -> None:
    with tgi_stub() as (url, _):
        result = CliRunner().invoke(
            app, ["smoke", "--url", url, *LIMITS, "--expect-model", "other/x", "--json"]
        )
    assert result.exit_code == 1
    info = next(c for c in json.loads(result.output)["checks"] if c["name"] == "info")
    assert "expected 'other/x'" in info["detail"]


def test_table_prints_square_brackets_in_details_as_text() -> None:
    # Details quote user input and server answers; rich must not read "[/y]" as markup (it used to crash).
    with tgi_stub() as (url, _):
        result = CliRunner().invoke(
            app, ["smoke", "--url", url, *LIMITS, "--expect-model", "x/[/y]"], env={"COLUMNS": "300"}
        )
    assert result.exit_code == 1, result.output
    assert "expected 'x/[/y]'" in result.output


def test_expect_flags_set_the_info_expectations_without_launch_rules() -> None:
    # The stub reports 64/128; the settings' defaults (3696/4096) are not what this server has.
    with tgi_stub() as (url, _):
        ok = CliRunner().invoke(
            app,
            ["smoke", "--url", url, "--expect-max-input-tokens", "64", "--expect-max-total-tokens", "128"],
        )
        wrong = CliRunner().invoke(
            app,
            [
                "smoke",
                "--url",
                url,
                "--json",
                "--expect-max-input-tokens",
                "65",
                "--expect-max-total-tokens",
                "128",
            ],
        )
    assert ok.exit_code == 0, ok.output
    assert wrong.exit_code == 1, wrong.output
    info = next(c for c in json.loads(wrong.output)["checks"] if c["name"] == "info")
    assert info["status"] == "fail" and "max_input_tokens is 64, expected 65" in info["detail"]


@pytest.mark.parametrize(
    ("raised", "said"),
    [
        ("up", "Interrupted: the container was removed."),
        ("checks", "Interrupted: checks stopped; a deployment this run created was taken down"),
    ],
)
def test_ctrl_c_says_what_was_left_and_exits_130(
    monkeypatch: pytest.MonkeyPatch, raised: str, said: str
) -> None:
    from orchestrator.deploy.lifecycle import UpInterrupted
    from orchestrator.smoke import target

    def interrupted(*args: object, **kwargs: object) -> None:
        raise UpInterrupted("the container was removed") if raised == "up" else KeyboardInterrupt

    monkeypatch.setattr(target, "smoke", interrupted)
    result = CliRunner().invoke(app, ["smoke", "--up"])
    assert result.exit_code == 130, result.output
    assert said in result.output


def test_url_with_up_is_a_usage_error_exit_2() -> None:
    result = CliRunner().invoke(app, ["smoke", "--url", "http://127.0.0.1:1", "--up"])
    assert result.exit_code == 2
    assert "--url" in result.output and "--up" in result.output


def test_unset_api_key_env_is_a_config_error_exit_2() -> None:
    result = CliRunner().invoke(
        app, ["smoke", "--url", "http://127.0.0.1:1", "--api-key-env", "NOPE_UNSET_VAR"]
    )
    assert result.exit_code == 2
    assert "NOPE_UNSET_VAR" in result.output
