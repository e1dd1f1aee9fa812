"""`orchestrator load` is thin: options become one LoadRequest; the verdict becomes the exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.load import runner as load_runner
from orchestrator.load.request import LoadRequest, LoadResult, parse_duration, parse_rates
from tests.helpers import clean_environ, run_orchestrator


def fake_summary(passed: bool = True) -> dict[str, Any]:
    dist = {"count": 3, "mean": 0.1, "std": 0.0, "min": 0.1, "max": 0.1,
            "percentiles": {"p50": 0.1, "p90": 0.1, "p95": 0.1, "p99": 0.1}}  # fmt: skip
    fig = {"requests": 3, "succeeded": 3, "failed": 0, "error_rate": 0.0, "errors": {}, "early_stops": 0,
           "retries": 0, "request_rate": 1.0, "output_tokens_per_s": 10.0, "send_rate": None, "ttft_s": dist,
           "itl_s": dist, "tpot_s": dist, "e2e_s": dist, "tokens_per_s_request": dist}  # fmt: skip
    verdict = (
        "SLO PASS: ttft p50 100.00 ms <= 200.00 ms" if passed else "SLO FAIL (1 of 1 missed): ttft p50 ..."
    )
    return {
        "host": "http://127.0.0.1:9", "duration_s": 1.0,
        "settings": {"rate": 0.0, "arrival": "constant", "users": 2, "processes": 1},
        "figures": {"all": fig, "stream": fig}, "server_metrics": None, "arrivals": None, "warnings": [],
        "slo": {"passed": passed, "verdict": verdict},
    }  # fmt: skip


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[LoadRequest]:
    seen: list[LoadRequest] = []

    def fake_run(req: LoadRequest, **_: Any) -> LoadResult:
        req.checked_options()
        seen.append(req)
        passed = not any(w == "ttft_p50=1" for w in req.options)
        return LoadResult(req, fake_summary(passed), 0, req.report_dir / "locust.log")

    monkeypatch.setattr(load_runner, "run_load", fake_run)
    return seen


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["load", *args], env={"COLUMNS": "120"})


def test_options_become_one_request(captured: list[LoadRequest], tmp_path: Path) -> None:
    out = invoke("--url", "http://127.0.0.1:9/", "--scenario", "chat", "--users", "7", "--duration", "1m30s",
                 "--rate", "3", "--arrival", "poisson", "--slo-ttft-p99", "500", "--slo", "error_rate=1%",
                 "--processes", "2", "--report-dir", str(tmp_path))  # fmt: skip
    assert out.exit_code == 0, out.output
    (req,) = captured
    assert (req.url, req.scenario, req.users, req.duration_s, req.processes) == (
        "http://127.0.0.1:9",
        "chat",
        7,
        90.0,
        2,
    )
    words = list(req.options)
    assert words[words.index("--rate") + 1] == "3" and words[words.index("--arrival") + 1] == "poisson"
    assert "ttft_p99=500" in words and "error_rate=1%" in words
    assert "TTFT p50" in out.output and "SLO PASS" in out.output


def test_help_and_output_show_square_brackets_as_text(
    captured: list[LoadRequest], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    help_text = invoke("--help").output
    assert "[slo] table" in " ".join(help_text.replace("│", " ").split())
    # Text from the run (warnings, the report path) goes through rich: brackets must print as they are.
    report_dir = tmp_path / "[run]"
    warned = fake_summary()
    warned["warnings"] = ["a [bracketed] warning [/INST]"]
    monkeypatch.setattr(
        load_runner,
        "run_load",
        lambda req, **_: LoadResult(req, warned, 0, req.report_dir / "locust.log"),
    )
    out = invoke("--url", "http://127.0.0.1:9", "--report-dir", str(report_dir))
    assert out.exit_code == 0, out.output
    assert "a [bracketed] warning [/INST]" in out.output and f"reports: {report_dir}" in out.output


def test_missed_slo_exits_5(captured: list[LoadRequest], tmp_path: Path) -> None:
    out = invoke("--url", "http://127.0.0.1:9", "--slo-ttft-p50", "1", "--report-dir", str(tmp_path))
    assert out.exit_code == 5
    assert "SLO FAIL" in out.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--duration", "soon"), "--duration 'soon' is not a duration"),
        (("--scenario", "chaos"), "--scenario 'chaos' is not one of"),
        (("--slo", "ttft=1"), "not a known SLO"),
        (("--shape", "wave:1"), "unknown shape"),
        (("--name", "x"), "either --url or --name"),
        (("--sweep", "5,1"), "positive, rising"),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    captured: list[LoadRequest], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = invoke("--url", "http://127.0.0.1:9", "--report-dir", str(tmp_path), *args)
    assert out.exit_code == 2, out.output
    assert message in out.output
    assert captured == []


def test_url_must_be_http(captured: list[LoadRequest]) -> None:
    out = invoke("--url", "127.0.0.1:8080")
    assert out.exit_code == 2 and "must start with http://" in out.output


def test_durations_and_rates() -> None:
    assert parse_duration("45") == 45 and parse_duration("1h30m") == 5400 and parse_duration("2m") == 120
    assert parse_rates("1,2,4") == [1, 2, 4]
    assert parse_rates("2:6:2") == [2, 4, 6]


@pytest.mark.parametrize("sweep", [(), ("--sweep", "1,2")])
def test_an_unwritable_report_dir_is_a_clear_exit_2(tmp_path: Path, sweep: tuple[str, ...]) -> None:
    # A real process and the real runner: the directory is checked before Locust starts.
    (tmp_path / "a-file").write_text("")
    for report_dir in (tmp_path / "a-file" / "reports", Path("/proc/x")):
        done = run_orchestrator(
            "load", "--url", "http://127.0.0.1:9", "--duration", "1s", "--report-dir", str(report_dir), *sweep,
            cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"--report-dir {str(report_dir)!r} cannot be written" in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("missing", "sweep"), [("locust", ()), ("matplotlib", ("--sweep", "1,2"))])
def test_without_the_load_extra_the_command_names_the_install(
    tmp_path: Path, missing: str, sweep: tuple[str, ...]
) -> None:
    # A real process in which `missing` cannot be imported (as if the [load] extra were not installed).
    script = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "from orchestrator.cli import main\n"
        "sys.argv = ['orchestrator', *sys.argv[1:]]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "load", "--url", "http://127.0.0.1:9", "--duration", "1s",
         "--report-dir", str(tmp_path / "r"), *sweep],
        cwd=tmp_path, env=clean_environ(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"missing: {missing}" in done.stderr and "pip install 'tgi-orchestrator[load]'" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r").exists()


def test_failed_requests_exit_7_and_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failed = fake_summary()
    failed["outcome"] = {
        "exit_code": 7,
        "problems": ["every request failed (3 of 3: 0:ConnectionRefusedError x3)"],
    }
    monkeypatch.setattr(
        load_runner, "run_load", lambda req, **_: LoadResult(req, failed, 1, req.report_dir / "locust.log")
    )
    out = invoke("--url", "http://127.0.0.1:9", "--report-dir", str(tmp_path))
    assert out.exit_code == 7, out.output
    assert "REQUESTS FAILED: every request failed (3 of 3" in out.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--requests", "-1"), "--requests -1: must be a count"),
        (("--max-error-rate", "1.5"), "--max-error-rate 1.5: must be a share between 0 and 1"),
    ],
)
def test_bad_stop_options_exit_2(
    captured: list[LoadRequest], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = invoke("--url", "http://127.0.0.1:9", "--report-dir", str(tmp_path), *args)
    assert out.exit_code == 2 and message in out.output, out.output
    assert captured == []
