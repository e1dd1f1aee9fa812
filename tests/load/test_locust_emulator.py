"""Locust really running against the TGI emulator (a real process on a real loopback port).

The emulator records its own truth per request (`GET /emulator/summary`, `/emulator/requests`): we compare our
client-side figures with it. Runs are short (2-4 s each); the whole module takes about a minute.
"""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.load.figures import UNFINISHED, Sample, summarize
from orchestrator.load.report import read_samples
from orchestrator.load.request import LoadRequest
from orchestrator.load.runner import run_load
from tests.fixtures.emulator import EmulatorProcess

pytestmark = pytest.mark.slow

PROFILE = ("--emulator-profile", "a100-awq")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def timed_emulator() -> Iterator[EmulatorProcess]:
    """An emulator with the A100 latency profile (prefill 12 ms + 0.133 ms/token, decode 9 ms/step)."""
    with EmulatorProcess(PROFILE) as emu:
        yield emu


def finished(report_dir: Path) -> list[Sample]:
    """The samples of requests that completed (those in flight at the end are recorded as `unfinished`)."""
    return [s for s in read_samples(report_dir / "samples.jsonl") if s.error_type != UNFINISHED]


def load(url: str, tmp: Path, scenario: str = "stream", users: int = 2, duration: float = 3.0,
         processes: int = 1, *options: str) -> Any:  # fmt: skip
    req = LoadRequest(url=url, scenario=scenario, users=users, duration_s=duration, report_dir=tmp,
                      processes=processes, options=("--input-tokens", "128", "--output-tokens", "24", *options))  # fmt: skip
    return run_load(req, timeout_s=duration + 60)


def test_ttft_and_itl_match_the_emulators_own_record(tmp_path: Path) -> None:
    # A fresh emulator, so its record holds exactly this run's requests. One user: with two or more, TTFT is
    # bimodal (a request either waits for another's prefill or not) and the median of ~30 requests may fall
    # between the modes, so one request more or less in either record would move it by milliseconds.
    with EmulatorProcess(PROFILE) as emu:
        result = load(emu.url, tmp_path, users=1, duration=4.0)
        truth = get_json(f"{emu.url}/emulator/summary")
    fig = result.summary["figures"]["all"]
    assert fig["succeeded"] >= 10 and fig["failed"] == 0
    ttft, itl = fig["ttft_s"]["percentiles"]["p50"], fig["itl_s"]["percentiles"]["p50"]
    assert abs(ttft - truth["ttft_median_s"]) < 0.002, (ttft, truth)
    assert abs(itl - truth["itl_median_s"]) < 0.001, (itl, truth)
    # every request we completed is one the emulator completed (it also counts the ones cut at the end)
    assert truth["successful"] >= fig["succeeded"]
    assert fig["token_events_mismatches"] == 0 and fig["input_token_mismatches"] == 0
    assert result.summary["token_check"]["above_1_percent"] is False


def test_open_loop_reaches_its_target_rate(timed_emulator: EmulatorProcess, tmp_path: Path) -> None:
    result = load(timed_emulator.url, tmp_path, "stream", 16, 5.0, 1, "--rate", "20", "--output-tokens", "8")
    fig = result.summary["figures"]["all"]
    assert fig["send_rate"] == pytest.approx(20.0, rel=0.02)
    arrivals = result.summary["arrivals"]
    assert arrivals["dropped"] == 0 and arrivals["slots"] >= 90
    # latency counted from the scheduled time: never below the actual-send latency
    samples = finished(tmp_path)
    assert all(s.sent_at >= s.start_at for s in samples)
    assert summarize(samples).requests == fig["requests"]


def test_open_loop_counts_late_sends_when_the_pool_is_too_small(
    timed_emulator: EmulatorProcess, tmp_path: Path
) -> None:
    # one user, 30 req/s, each request ~0.1 s: most slots are taken late; latency still counts from the slot
    result = load(timed_emulator.url, tmp_path, "stream", 1, 3.0, 1, "--rate", "30", "--output-tokens", "8",
                  "--max-lateness", "0.5")  # fmt: skip
    arrivals = result.summary["arrivals"]
    fig = result.summary["figures"]["all"]
    assert arrivals["late"] > 0 and arrivals["dropped"] > 0
    assert fig["send_delay_s"]["max"] > 0.05
    assert fig["e2e_s"]["percentiles"]["p99"] > 0.3  # includes the wait for a free user


def test_two_processes_merge_every_exact_sample(timed_emulator: EmulatorProcess, tmp_path: Path) -> None:
    result = load(timed_emulator.url, tmp_path, "stream", 4, 4.0, 2)
    summary = result.summary
    assert summary["settings"]["workers_reporting"] == [0, 1]
    samples = finished(tmp_path)
    assert {s.worker for s in samples} == {0, 1}
    # the master's figures are those of the union of both workers' exact samples
    union = summarize(samples)
    fig = summary["figures"]["all"]
    assert fig["requests"] == union.requests == len(samples)
    assert union.ttft_s is not None and fig["ttft_s"]["percentiles"] == union.ttft_s.percentiles
    # and Locust, aggregating the same requests its own way, counted as many
    rows = {(r["Type"], r["Name"]): r for r in csv.DictReader((tmp_path / "locust_stats.csv").open())}
    assert int(rows[("POST", "/generate_stream")]["Request Count"]) == len(samples)
    assert int(rows[("TTFT", "/generate_stream")]["Request Count"]) == len(samples)


def test_reports_hold_the_figures(timed_emulator: EmulatorProcess, tmp_path: Path) -> None:
    result = load(timed_emulator.url, tmp_path, "mix", 6, 3.0, 1, "--slo", "e2e_p99=60s")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == result.summary
    assert set(summary["figures"]) == {"all", "chat", "client", "generate", "stream"}
    assert summary["figures"]["chat"]["ttft_s"]["count"] > 0
    assert summary["figures"]["generate"]["ttft_s"] is None  # not measurable without a stream
    assert summary["server_info"]["max_total_tokens"] > 0
    assert "ITL" in json.dumps(summary["definitions"]) or "itl_s" in summary["definitions"]
    assert summary["server_metrics"]["histograms"]["tgi_request_queue_duration"]["count"] > 0
    assert summary["slo"]["passed"] is True
    stats = (tmp_path / "locust_stats.csv").read_text()
    assert "TTFT" in stats and "/v1/chat/completions" in stats and "/generate" in stats
    assert "TTFT" in (tmp_path / "report.html").read_text()
    for png in ("latency.png", "throughput.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["plots"] == ["latency.png", "throughput.png"]


def test_early_stops_and_errors_by_type(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory("--emulator-eos-rate", "0.05", "--emulator-fault-overload-rate", "0.2")
    result = load(emu.url, tmp_path, "stream", 4, 3.0, 1, "--output-tokens", "40")
    fig = result.summary["figures"]["all"]
    assert fig["early_stops"] > 0
    assert any("stopped before" in w for w in result.summary["warnings"])
    # TGI answers 200 to a stream and sends the overload as an SSE error event
    assert fig["errors"].get("200:overloaded", 0) > 0
    server_failures = result.summary["server_metrics"]["failures"]
    assert server_failures.get("overloaded", 0) >= fig["errors"]["200:overloaded"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from orchestrator.cli import main; main()", "load", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, env=_wide_env())


def _wide_env() -> dict[str, str]:
    import os

    return {**os.environ, "COLUMNS": "120"}


def test_cli_slo_gate_exit_codes(timed_emulator: EmulatorProcess, tmp_path: Path) -> None:
    base = ("--url", timed_emulator.url, "--scenario", "stream", "--users", "2", "--duration", "2s",
            "--input-tokens", "64", "--output-tokens", "8")  # fmt: skip
    # the A100 profile's TTFT is above 12 ms: a 1 ms objective must fail, a 10 s one pass
    failed = run_cli(*base, "--slo-ttft-p50", "1", "--report-dir", str(tmp_path / "fail"))
    assert failed.returncode == 5, failed.stdout + failed.stderr
    assert "SLO FAIL (1 of 1 missed): ttft p50" in failed.stdout
    passed = run_cli(
        *base, "--slo-ttft-p50", "10000", "--slo", "error_rate=1%", "--report-dir", str(tmp_path / "ok")
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "SLO PASS" in passed.stdout


def test_cli_prints_a_readable_table(emulator: EmulatorProcess, tmp_path: Path) -> None:
    out = run_cli("--url", emulator.url, "--scenario", "stream", "--users", "32", "--duration", "2s",
                  "--report-dir", str(tmp_path))  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    for label in ("closed loop, 32 users", "TTFT p50", "ITL p99", "e2e p99", "output tokens/s", "stream"):
        assert label in out.stdout
    assert "SLO: none set" in out.stdout


def test_cli_bad_option_is_named(tmp_path: Path) -> None:
    out = run_cli(
        "--url", "http://127.0.0.1:9", "--output-tokens", "uniform:9", "--report-dir", str(tmp_path)
    )
    assert out.returncode == 2
    assert "--output-tokens 'uniform:9'" in out.stderr and "use 128" in out.stderr
    assert not (tmp_path / "summary.json").exists()


def test_sweep_reports_goodput(timed_emulator: EmulatorProcess, tmp_path: Path) -> None:
    out = run_cli("--url", timed_emulator.url, "--scenario", "stream", "--users", "8", "--duration", "2s",
                  "--output-tokens", "8", "--input-tokens", "64", "--sweep", "2,4", "--slo", "e2e_p99=30s",
                  "--report-dir", str(tmp_path))  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    sweep = json.loads((tmp_path / "sweep.json").read_text())
    assert sweep["goodput_rate"] == 4
    assert [r["rate"] for r in sweep["runs"]] == [2, 4]
    assert statistics.fmean(r["send_rate"] / r["rate"] for r in sweep["runs"]) == pytest.approx(1, rel=0.1)
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert "goodput: 4 req/s" in out.stdout


def test_per_request_ttft_matches_under_concurrency(tmp_path: Path) -> None:
    # Eight users; each prompt gets a length drawn from a wide range, so most requests can be paired with the
    # emulator's record of the same request by their input length.
    with EmulatorProcess(PROFILE) as emu:
        load(emu.url, tmp_path, "stream", 8, 5.0, 1, "--input-tokens", "uniform:100,1500", "--output-tokens", "16",
             "--seed", "3")  # fmt: skip
        records = get_json(f"{emu.url}/emulator/requests")["requests"]
    samples = [s for s in read_samples(tmp_path / "samples.jsonl") if s.ok]
    truth = [r for r in records if r["status"] == 200 and not r["dropped"]]

    def unique(keys: list[int]) -> set[int]:
        return {k for k in keys if keys.count(k) == 1}

    lengths = unique([s.input_tokens or 0 for s in samples]) & unique([r["input_tokens"] for r in truth])
    ours = {s.input_tokens: s for s in samples if s.input_tokens in lengths}
    theirs = {r["input_tokens"]: r for r in truth if r["input_tokens"] in lengths}
    assert len(lengths) >= 20
    # The emulator stamps a request's arrival when its event loop gets to it; requests sent together wait for
    # each other's validation there (milliseconds each for long prompts), time its record leaves out. Our TTFT
    # must equal its TTFT plus that wait (its arrival - our send), within 2 ms.
    residual = [
        (ours[k].ttft or 0) - theirs[k]["ttft_s"] - (theirs[k]["arrival_unix"] - ours[k].start_at)
        for k in lengths
    ]
    assert abs(statistics.median(residual)) < 0.002, residual
    itl_ours = statistics.median(s.itl for s in ours.values() if s.itl is not None)
    itl_theirs = statistics.median(r["itl_mean_s"] for r in theirs.values())
    assert abs(itl_ours - itl_theirs) < 0.001, (itl_ours, itl_theirs)
    # per request, our TTFT is never below the server's own (we cannot see a token before it exists)
    assert all((ours[k].ttft or 0) >= theirs[k]["ttft_s"] for k in lengths)


def test_client_user_counts_the_clients_retries(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory(*PROFILE, "--emulator-fault-overload-rate", "0.3")
    result = load(emu.url, tmp_path, "client", 3, 3.0)
    fig = result.summary["figures"]["client"]
    assert fig["succeeded"] > 5
    assert fig["retries"] > 0  # overloads answered by TGIClient's retries, seen under load
    assert fig["ttft_s"]["count"] == fig["succeeded"]
    samples = read_samples(tmp_path / "samples.jsonl")
    assert sum(s.retries for s in samples) == fig["retries"]


def test_step_shape_drives_the_user_count(timed_emulator: EmulatorProcess, tmp_path: Path) -> None:
    result = load(timed_emulator.url, tmp_path, "stream", 1, 4.0, 1, "--shape", "step:1,2,1,5",
                  "--output-tokens", "8")  # fmt: skip
    history = list(csv.DictReader((tmp_path / "locust_stats_history.csv").open()))
    counts = [int(row["User Count"]) for row in history]
    assert max(counts) == 5 and min(counts) <= 3
    assert result.summary["settings"]["shape"] == "step:1,2,1,5"


def test_open_loop_over_two_processes_keeps_the_rate(timed_emulator: EmulatorProcess, tmp_path: Path) -> None:
    result = load(timed_emulator.url, tmp_path, "stream", 8, 4.0, 2, "--rate", "20", "--output-tokens", "8")
    fig = result.summary["figures"]["all"]
    assert result.summary["settings"]["workers_reporting"] == [0, 1]
    assert fig["send_rate"] == pytest.approx(20.0, rel=0.02)  # two phase-shifted schedules of 10/s each
    assert result.summary["arrivals"]["dropped"] == 0


def test_jsonl_conversations_on_chat(timed_emulator: EmulatorProcess, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        json.dumps({"messages": [{"role": "user", "content": "Name three rivers."},
                                 {"role": "assistant", "content": "Nile, Amazon, Danube."},
                                 {"role": "user", "content": "And three lakes?"}], "max_new_tokens": 12})
        + "\n" + json.dumps({"prompt": "Write a haiku about load tests."}) + "\n"
    )  # fmt: skip
    result = load(timed_emulator.url, tmp_path / "out", "chat", 2, 2.0, 1, "--prompts-file", str(prompts))
    fig = result.summary["figures"]["chat"]
    assert fig["succeeded"] > 2 and fig["failed"] == 0
    assert fig["input_token_mismatches"] == 0  # usage.prompt_tokens == our Mistral-template count
    assert {s.target_tokens for s in finished(tmp_path / "out")} == {12, 24}


def test_request_timeout_fails_stalled_streams(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory("--emulator-fault-stall-rate", "1", "--emulator-fault-stall-seconds", "3")
    result = load(emu.url, tmp_path, "stream", 2, 3.0, 1, "--request-timeout", "0.5")
    fig = result.summary["figures"]["all"]
    assert fig["errors"].get("0:timeout", 0) >= 2
    assert fig["succeeded"] == 0


def test_requests_in_flight_at_the_end_are_unfinished_not_hidden(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emu = emulator_factory("--emulator-fault-stall-rate", "1", "--emulator-fault-stall-seconds", "3")
    result = load(emu.url, tmp_path, "stream", 2, 2.0, 1, "--slo", "e2e_p50=500ms")
    fig = result.summary["figures"]["all"]
    assert fig["unfinished"] == 2 and fig["failed"] == 0 and fig["succeeded"] == 0
    assert any("still in flight" in w for w in result.summary["warnings"])
    assert result.summary["slo"]["passed"] is False
