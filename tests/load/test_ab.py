"""A/B in one run: two emulators (real processes) with different latency profiles behind one `orchestrator load`
run; the report shows the known difference, and both got the same prompts and schedule. Plus the bootstrap."""

from __future__ import annotations

import json
import random
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from orchestrator.load.compare import bootstrap_difference
from orchestrator.load.report import read_samples
from orchestrator.load.request import LoadError, LoadRequest
from orchestrator.load.runner import run_load
from orchestrator.load.table import ab_rows, figure_table
from tests.fixtures.emulator import EmulatorProcess
from tests.helpers import run_orchestrator

pytestmark = pytest.mark.slow

# Same prefill, decode steps of 6 ms (A) and 14 ms (B): ITL differs by about 8 ms, prompts do not matter.
FAST = (
    "--emulator-profile",
    "a100-awq",
    "--emulator-decode-base-ms",
    "6",
    "--emulator-decode-per-seq-ms",
    "0",
)
SLOW = (
    "--emulator-profile",
    "a100-awq",
    "--emulator-decode-base-ms",
    "14",
    "--emulator-decode-per-seq-ms",
    "0",
)


def _records(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/emulator/requests", timeout=10) as resp:
        data = json.loads(resp.read())
    return list(data["requests"] if isinstance(data, dict) else data)


def _row(summary: dict[str, Any], figure: str, percentile: str) -> dict[str, Any]:
    return next(
        r for r in summary["ab"]["differences"] if (r["figure"], r["percentile"]) == (figure, percentile)
    )


def test_ab_run_shows_the_known_difference_and_sends_the_same_prompts(tmp_path: Path) -> None:
    with EmulatorProcess(FAST) as a, EmulatorProcess(SLOW) as b:
        req = LoadRequest(
            url=a.url, scenario="stream", users=2, duration_s=None, report_dir=tmp_path,
            options=("--url-b", b.url, "--requests", "40", "--input-tokens", "uniform:32,256",
                     "--output-tokens", "12", "--seed", "7"),
        )  # fmt: skip
        result = run_load(req, timeout_s=120)
        records_a, records_b = _records(a.url), _records(b.url)
    summary = result.summary
    ab = summary["ab"]
    assert ab["hosts"] == {"a": a.url, "b": b.url}
    assert ab["throughput"]["succeeded"] == {"a": 40, "b": 40}
    itl = _row(summary, "itl_s", "p50")
    assert itl["difference"] == pytest.approx(0.008, abs=0.002), itl
    assert itl["beyond_noise"] is True and itl["ci_low"] > 0
    # the same prompts went to both: the same multiset of prompt lengths, request for request
    assert sorted(r["input_tokens"] for r in records_a) == sorted(r["input_tokens"] for r in records_b)
    assert len(records_a) == len(records_b) == 40
    samples = read_samples(tmp_path / "samples.jsonl")
    assert sorted(s.prompt_id or 0 for s in samples if s.target == "a") == sorted(
        s.prompt_id or 0 for s in samples if s.target == "b"
    )
    # the tables show each endpoint in its own column and the verdict per percentile
    headers, _ = figure_table(summary)
    assert headers == ["figure", f"A: {a.url}", f"B: {b.url}"]
    assert [row[-1] for row in ab_rows(summary) if row[0] == "ITL p50"] == ["B slower"]


def test_open_loop_ab_gives_both_endpoints_the_same_send_times(tmp_path: Path) -> None:
    with EmulatorProcess(FAST) as a, EmulatorProcess(FAST) as b:
        req = LoadRequest(
            url=a.url, scenario="stream", users=8, duration_s=2.0, report_dir=tmp_path,
            options=("--url-b", b.url, "--rate", "20", "--arrival", "poisson", "--output-tokens", "4"),
        )  # fmt: skip
        run_load(req, timeout_s=90)
    samples = [s for s in read_samples(tmp_path / "samples.jsonl") if s.error_type != "unfinished"]
    slots = {t: sorted(round(s.start_at, 4) for s in samples if s.target == t) for t in ("a", "b")}
    common = min(len(slots["a"]), len(slots["b"]))
    assert common >= 25
    # scheduled times are the same on both lanes (one seed, one epoch), though the seed was random
    assert slots["a"][:common] == slots["b"][:common]


def test_cli_compare_prints_the_ab_table(tmp_path: Path) -> None:
    with EmulatorProcess(FAST) as a, EmulatorProcess(SLOW) as b:
        done = run_orchestrator(
            "load", "--url", a.url, "--compare", b.url, "--requests", "20", "--users", "2",
            "--output-tokens", "8", "--report-dir", str(tmp_path / "r"), cwd=tmp_path, timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "A/B: B - A per percentile" in done.stdout and "ITL p50" in done.stdout
    bad = run_orchestrator("load", "--url", a.url, "--url-b", "ftp://x", "--requests", "1", cwd=tmp_path)
    assert bad.returncode == 2 and "--url-b 'ftp://x' must start with http://" in bad.stderr


def test_bootstrap_interval_contains_zero_for_one_distribution_and_not_for_a_shifted_one() -> None:
    rng = random.Random(3)
    a = [rng.gauss(0.100, 0.010) for _ in range(400)]
    same = [rng.gauss(0.100, 0.010) for _ in range(400)]
    shifted = [v + 0.004 for v in (rng.gauss(0.100, 0.010) for _ in range(400))]
    low, high = bootstrap_difference(a, same, 50.0, seed=1)
    assert low < 0 < high
    low, high = bootstrap_difference(a, shifted, 50.0, seed=1)
    assert 0 < low < 0.004 < high < 0.008
    assert bootstrap_difference(a, shifted, 50.0, seed=1) == (low, high)  # seeded: reproducible


def test_compare_and_url_b_together_are_refused(tmp_path: Path) -> None:
    done = run_orchestrator(
        "load",
        "--url",
        "http://127.0.0.1:9",
        "--compare",
        "http://x:1",
        "--url-b",
        "http://y:1",
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "either --compare or --url-b" in done.stderr
    with pytest.raises(LoadError, match="--url-b"):
        LoadRequest(url="http://h:1", scenario="stream", users=1, duration_s=1, report_dir=tmp_path,
                    options=("--url-b", "nope")).checked_options()  # fmt: skip
