"""Item 21: a benchmark that misses a target exits non-zero, and the runner ends with a met / missed table.

Unit tests of the one helper (benchmarks/_support.py: Targets, render_table), then real processes: load_capacity
with an impossible target (BENCHMARK_TARGETS) and scripts/run-benchmarks.sh on a short list of benchmarks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks._support import OVERRIDES_ENV, RESULTS_ENV, Targets, render_table

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    monkeypatch.delenv(OVERRIDES_ENV, raising=False)


def test_all_targets_met_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    targets = Targets("bench")
    assert targets.check("latency_ms", 0.5, "<", 1.0, "ms")
    assert targets.check("rate", 40_000, ">=", 40_000)
    assert targets.exit_code() == 0
    out = capsys.readouterr().out
    assert "latency_ms: 0.5 ms (target < 1 ms) -> met" in out
    assert "bench: all targets met" in out


def test_one_miss_exits_one_and_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    targets = Targets("load_capacity")
    targets.check("tokens_per_cpu_s", 50_000, ">=", 40_000)
    assert not targets.check("p95_error_ms", 20.8, "<", 1.0, "ms")
    assert [o.target for o in targets.missed] == ["p95_error_ms"]
    assert targets.exit_code() == 1
    out = capsys.readouterr().out
    assert "p95_error_ms: 20.8 ms (target < 1 ms) -> MISSED" in out
    assert "TARGETS MISSED: p95_error_ms" in out


def test_nothing_checked_or_nan_is_a_miss() -> None:
    assert Targets("empty").exit_code() == 1
    targets = Targets("nan")
    assert not targets.check("figure", float("nan"), "<", 1.0)
    assert targets.exit_code() == 1


def test_override_replaces_the_bound_and_results_are_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "results.jsonl"
    monkeypatch.setenv(RESULTS_ENV, str(results))
    monkeypatch.setenv(OVERRIDES_ENV, "other.rate=1, bench.rate=1e9")
    targets = Targets("bench", quiet=True)
    assert not targets.check("rate", 50_000, ">=", 40_000)
    assert targets.check("other_figure", 1, "<", 2)
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["target"], r["bound"], r["met"]) for r in records] == [
        ("rate", 1e9, False),
        ("other_figure", 2, True),
    ]


def test_malformed_override_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OVERRIDES_ENV, "bench.rate=fast")
    with pytest.raises(
        SystemExit, match=r"BENCHMARK_TARGETS: 'bench.rate=fast' is not `benchmark.target=number`"
    ):
        Targets("bench")


def test_unknown_relation_is_refused() -> None:
    with pytest.raises(ValueError, match="relation"):
        Targets("bench").check("x", 1, "=", 1)


def _record(bench: str, target: str, figure: float, met: bool) -> str:
    return json.dumps({"benchmark": bench, "target": target, "figure": figure, "relation": "<", "bound": 1.0,
                       "unit": "ms", "met": met})  # fmt: skip


def test_table_lists_met_missed_and_failed_runs() -> None:
    lines = [
        _record("a", "median_ms", 0.5, True),
        json.dumps({"benchmark": "a", "exit": 0}),
        _record("b", "p95_ms", 20.8, False),
        json.dumps({"benchmark": "b", "exit": 1}),
        json.dumps({"benchmark": "crashed", "exit": 2}),
    ]
    table, code = render_table(lines)
    assert code == 1
    rows = [line.split() for line in table.splitlines()]
    assert rows[0] == ["benchmark", "target", "figure", "(target)", "verdict"]
    assert rows[1][:2] == ["a", "median_ms"] and rows[1][-1] == "met"
    assert rows[2][:2] == ["b", "p95_ms"] and rows[2][-1] == "MISSED"
    assert rows[3][:2] == ["crashed", "(run)"] and rows[3][-1] == "FAILED"
    assert len(rows) == 4  # b's exit 1 is its miss, not a second failure


def test_table_all_met_is_exit_zero() -> None:
    _, code = render_table([_record("a", "x", 0.1, True), json.dumps({"benchmark": "a", "exit": 0})])
    assert code == 0
    assert render_table([])[1] == 1  # nothing ran: not a pass


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (RESULTS_ENV, OVERRIDES_ENV)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


@pytest.mark.slow
def test_load_capacity_exits_nonzero_on_a_missed_target() -> None:
    """The benchmark the issue names: 4 streams for 1 s can never hold the 8 streams this target asks for."""
    proc = subprocess.run(
        [sys.executable, "benchmarks/load_capacity.py", "--skip-throughput", "--streams", "4", "--duration", "1",
         "--no-read-comparison"],
        cwd=REPO, env=_env(**{OVERRIDES_ENV: "load_capacity.streams_held_p95_error_under_1ms=8"}),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "streams_held_p95_error_under_1ms: " in proc.stdout
    assert "(target >= 8 streams) -> MISSED" in proc.stdout


@pytest.mark.slow
def test_runner_ends_with_table_and_fails_on_a_miss() -> None:
    proc = subprocess.run(
        ["bash", "scripts/run-benchmarks.sh"],
        cwd=REPO, env=_env(BENCHMARKS="cli_help no_such_benchmark", **{OVERRIDES_ENV: "cli_help.median_s=0"}),
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    table = lines[max(i for i, line in enumerate(lines) if line.startswith("benchmark ")) :]
    assert table[1].split()[:2] == ["cli_help", "median_s"] and table[1].split()[-1] == "MISSED"
    assert table[2].split() == ["no_such_benchmark", "(run)", "exit", "code", "2", "FAILED"]
