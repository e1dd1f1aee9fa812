"""How a load run stops and what it reports about it, with Locust really running against the emulator (a real
process on a free port): the window and the schedule's slots add up (exact run time, not Locust's early -t),
`--requests N` stops after N answers, Ctrl-C writes an interrupted report and exits 130, and a run whose
requests fail exits 7, SLOs or not.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.load.figures import UNFINISHED
from orchestrator.load.plots import throughput_series
from orchestrator.load.report import read_samples
from orchestrator.load.request import LoadRequest
from orchestrator.load.runner import run_load
from tests.fixtures.emulator import EmulatorProcess, free_port
from tests.helpers import ORCHESTRATOR, clean_environ

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emulator_a100() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(("--emulator-profile", "a100-awq")) as emu:
        yield emu


def load(url: str, report_dir: Path, *options: str, users: int = 16, duration: float | None = 4.0,
         processes: int = 1) -> Any:  # fmt: skip
    req = LoadRequest(url=url, scenario="stream", users=users, duration_s=duration, report_dir=report_dir,
                      processes=processes, options=("--input-tokens", "64", "--output-tokens", "16", *options))  # fmt: skip
    return run_load(req, timeout_s=120)


def check_sums(summary: dict[str, Any], report_dir: Path) -> dict[str, Any]:
    """The identities the report promises, checked against the samples written."""
    a = summary["arrivals"]
    samples = read_samples(report_dir / "samples.jsonl")
    unfinished = sum(1 for s in samples if s.error_type == UNFINISHED)
    assert a["slots"] == a["sent"] + a["dropped"] + a["unsent_at_stop"], a
    assert a["sent"] == a["completed"] + a["unfinished"] == len(samples), (a, len(samples))
    assert a["unfinished"] == unfinished == summary["figures"]["all"]["unfinished"]
    return dict(a)


def test_rate_times_duration_slots_all_sent_in_an_exact_window(
    emulator_a100: EmulatorProcess, tmp_path: Path
) -> None:
    # 5 req/s for 4 s with users to spare: exactly 20 slots, all sent, each answered or in flight at the stop
    result = load(emulator_a100.url, tmp_path, "--rate", "5")
    summary = result.summary
    a = check_sums(summary, tmp_path)
    assert (a["slots"], a["sent"], a["dropped"], a["unsent_at_stop"]) == (20, 20, 0, 0), a
    assert not any("too few" in w for w in summary["warnings"]), summary["warnings"]
    run = summary["run"]
    assert run["stop_reason"] == "duration" and run["window_s"] == pytest.approx(4.0, abs=1e-6)
    # the load really stopped at the window's end (Locust's own -t stopped 10 s runs after 9.2 s)
    assert 4.0 <= summary["stopped_at"] - run["window_start_at"] < 4.5, run
    assert 0 < run["warmup_s"] < 1.0 and summary["duration_s"] == pytest.approx(
        run["warmup_s"] + 4.0, abs=0.5
    )
    fig = summary["figures"]["all"]
    assert fig["window_s"] == pytest.approx(4.0) and fig["request_rate"] == pytest.approx(
        fig["succeeded"] / 4.0
    )


def test_too_few_users_leave_due_slots_unsent_and_it_still_adds_up(
    emulator_a100: EmulatorProcess, tmp_path: Path
) -> None:
    # one user at 20 req/s, each request ~0.25 s: most slots are taken late, dropped, or not taken by the stop
    result = load(emulator_a100.url, tmp_path, "--rate", "20", "--max-lateness", "0.5", users=1, duration=3.0)
    a = check_sums(result.summary, tmp_path)
    assert a["slots"] == 60 and a["dropped"] + a["unsent_at_stop"] > 0 and a["sent"] < 60, a
    assert any("1 users are too few for 20 req/s" in w for w in result.summary["warnings"]), result.summary[
        "warnings"
    ]


def test_two_processes_share_the_window_and_the_slots(emulator_a100: EmulatorProcess, tmp_path: Path) -> None:
    result = load(emulator_a100.url, tmp_path, "--rate", "10", duration=3.0, processes=2)
    summary = result.summary
    assert summary["settings"]["workers_reporting"] == [0, 1]
    a = check_sums(summary, tmp_path)
    assert (a["slots"], a["sent"]) == (30, 30), a
    assert summary["run"]["window_s"] == pytest.approx(3.0, abs=1e-6)


@pytest.mark.parametrize(("processes", "rate"), [(1, "0"), (1, "10"), (2, "0")])
def test_requests_n_stops_after_n_answers(
    emulator_a100: EmulatorProcess, tmp_path: Path, processes: int, rate: str
) -> None:
    started = time.monotonic()
    result = load(emulator_a100.url, tmp_path, "--requests", "13", "--rate", rate, users=4, duration=None,
                  processes=processes)  # fmt: skip
    summary = result.summary
    fig = summary["figures"]["all"]
    assert (fig["requests"], fig["succeeded"], fig["unfinished"]) == (13, 13, 0), fig
    assert len(read_samples(tmp_path / "samples.jsonl")) == 13
    assert summary["run"]["stop_reason"] == "requests" and summary["run"]["requests_limit"] == 13
    assert summary["settings"]["requests"] == 13
    if rate != "0":
        assert check_sums(summary, tmp_path)["sent"] == 13
    assert time.monotonic() - started < 60


def test_requests_and_duration_whichever_comes_first(emulator_a100: EmulatorProcess, tmp_path: Path) -> None:
    result = load(emulator_a100.url, tmp_path, "--requests", "100000", duration=2.0)
    run = result.summary["run"]
    assert run["stop_reason"] == "duration" and run["window_s"] == pytest.approx(2.0, abs=1e-6)
    assert 0 < result.summary["figures"]["all"]["requests"] < 100000


def orchestrator_load(*args: str) -> list[str]:
    return [ORCHESTRATOR, "load", "--scenario", "stream", "--input-tokens", "64", *args]


def test_cli_requests_option_is_recorded_and_needs_no_duration(
    emulator_a100: EmulatorProcess, tmp_path: Path
) -> None:
    done = subprocess.run(
        orchestrator_load("--url", emulator_a100.url, "--output-tokens", "8", "--users", "3", "--requests", "7",
                          "--report-dir", str(tmp_path), "--json"),
        capture_output=True, text=True, timeout=120, check=False, env=clean_environ(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["figures"]["all"]["requests"] == 7 and summary["run"]["requests_limit"] == 7
    assert summary["run"]["run_time_s"] is None and summary["run"]["stop_reason"] == "requests"


def _default_sigint() -> None:
    # a test run started from a shell in the background inherits SIGINT ignored; the CLI must see a real Ctrl-C
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_the_load_writes_an_interrupted_report_and_exits_130(
    emulator_a100: EmulatorProcess, tmp_path: Path
) -> None:
    report = tmp_path / "r"
    proc = subprocess.Popen(
        orchestrator_load("--url", emulator_a100.url, "--output-tokens", "64", "--rate", "5", "--users", "16",
                          "--duration", "60s", "--report-dir", str(report)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**clean_environ(), "COLUMNS": "200"},
        preexec_fn=_default_sigint,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        log = report / "locust.log"
        while time.monotonic() < deadline and "All users spawned" not in (
            log.read_text() if log.exists() else ""
        ):
            time.sleep(0.2)
        time.sleep(3.0)  # mid-run: requests done, others in flight
        proc.send_signal(signal.SIGINT)  # to the orchestrator process only, as a terminal's Ctrl-C reaches it
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stdout + stderr
    summary = json.loads((report / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["run"]["stop_reason"] == "interrupted"
    assert summary["outcome"]["exit_code"] == 130
    assert 2.0 < summary["run"]["window_s"] < 30.0
    a = check_sums(summary, report)
    assert a["completed"] > 0 and summary["figures"]["all"]["succeeded"] > 0
    # the plot's data: requests in flight at the stop are not errors (the table says 0), the last bin is no drop
    samples = read_samples(report / "samples.jsonl")
    run = summary["run"]
    series = throughput_series(samples, (run["window_start_at"], run["window_stop_at"]))
    assert summary["figures"]["all"]["failed"] == 0 and a["unfinished"] > 0
    assert series.unfinished == a["unfinished"] and set(series.errors_per_s) == {0.0}
    assert series.edges[-1] == run["window_stop_at"]
    assert series.completed_per_s[-1] > 0.5 * max(series.completed_per_s), series.completed_per_s
    assert (report / "throughput.png").is_file()
    assert "INTERRUPTED" in stdout and "Interrupted: stopping the load" in stderr
    text = log.read_text()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text[-3000:]
    # no Locust process (master or worker) outlives the command
    assert not [cmd for cmd in _command_lines() if str(report) in cmd]


def _command_lines() -> list[str]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                continue
    return out


def test_every_request_failing_is_loud_and_exits_7(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        orchestrator_load("--url", dead, "--users", "2", "--duration", "2s", "--report-dir", str(tmp_path)),
        capture_output=True, text=True, timeout=120, check=False, env={**clean_environ(), "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 7, done.stdout + done.stderr
    assert "REQUESTS FAILED: every request failed" in done.stdout and "ConnectionRefused" in done.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["outcome"]["exit_code"] == 7 and summary["outcome"]["requests_passed"] is False
    assert summary["slo"]["passed"] is True  # no SLO set: the failure is the requests'


def test_an_error_rate_above_the_ceiling_exits_7_and_a_raised_ceiling_passes(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emu = emulator_factory("--emulator-fault-overload-rate", "0.3", "--emulator-fault-seed", "5")
    base = ("--url", emu.url, "--output-tokens", "8", "--users", "4", "--duration", "2s")
    failed = subprocess.run(orchestrator_load(*base, "--report-dir", str(tmp_path / "a")), capture_output=True,
                            text=True, timeout=120, check=False, env={**clean_environ(), "COLUMNS": "200"})  # fmt: skip
    assert failed.returncode == 7, failed.stdout + failed.stderr
    assert "above --max-error-rate 5.0%" in failed.stdout and "overloaded" in failed.stdout
    allowed = subprocess.run(
        orchestrator_load(*base, "--max-error-rate", "0.9", "--report-dir", str(tmp_path / "b")),
        capture_output=True, text=True, timeout=120, check=False, env={**clean_environ(), "COLUMNS": "200"},
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "REQUESTS FAILED" not in allowed.stdout


def test_two_multi_process_runs_side_by_side_both_work(
    emulator_a100: EmulatorProcess, tmp_path: Path
) -> None:
    # Locust's master listens for its workers on a fixed port (5557) unless told otherwise: two runs with
    # --processes at once used to collide (one died, its workers orphaned); each now takes a free port
    from concurrent.futures import ThreadPoolExecutor

    dirs = [tmp_path / "one", tmp_path / "two"]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda d: load(emulator_a100.url, d, duration=3.0, processes=2), dirs))
    for result in results:
        assert result.summary["settings"]["workers_reporting"] == [0, 1]
        assert result.summary["figures"]["all"]["succeeded"] > 0
    assert not [cmd for cmd in _command_lines() if any(str(d) in cmd for d in dirs)]
