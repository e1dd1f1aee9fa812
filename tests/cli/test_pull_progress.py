"""The pull's three renderings from one stream of events: live bars, plain lines, JSON lines."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from orchestrator.cli.pull_progress import JsonPullReporter, LivePullReporter, PlainPullReporter
from orchestrator.weights import PullEvent, PullPlan, RemoteFile, RemoteSnapshot

FILES = (
    RemoteFile("config.json", 844, "a" * 40, None),
    RemoteFile("model.safetensors", 4_000_000, "b" * 40, "c" * 64),
)
PLAN = PullPlan(
    RemoteSnapshot("org/name", "main", "d" * 40, FILES),
    Path("/cache/hub"),
    frozenset({"config.json"}),
    10**9,
    "http://hub",
)


def _events() -> list[PullEvent]:
    events = [
        PullEvent("plan", 0.0, plan=PLAN),
        PullEvent("file", 0.0, "config.json", 844, 844, state="cached"),
    ]
    for step in range(1, 5):
        done = step * 1_000_000
        state = "done" if step == 4 else "downloading"
        events.append(PullEvent("file", step, "model.safetensors", done, 4_000_000, state=state))
        events.append(PullEvent("progress", step, bytes=done, total=4_000_000, rate=1e6, eta=4.0 - step))
    events += [PullEvent("retry", 4.5, message="Trying to resume download...")]
    events += [PullEvent("verified", 5.0, f.path, state="ok", message=f.algorithm) for f in FILES]
    return events


def test_plain_lines_show_plan_files_heartbeat_and_retries() -> None:
    out = io.StringIO()
    reporter = PlainPullReporter(out, heartbeat=2.0)
    for event in _events():
        reporter(event)
    text = out.getvalue()
    assert "to fetch: 4,000,000 bytes in 1 of 2 files" in text and "config.json" in text and "cached" in text
    assert "fetched model.safetensors (4.0 MB)" in text
    assert "2.0 MB / 4.0 MB (50.0%), 1.0 MB/s, ETA 2s" in text and "retrying: Trying to resume" in text


def test_json_lines_throttle_progress_but_keep_the_last_before_verdicts() -> None:
    out = io.StringIO()
    reporter = JsonPullReporter(out, every=10.0)
    for event in _events():
        reporter(event)
    reporter.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    progress = [e for e in lines if e["event"] == "progress"]
    assert [p["bytes"] for p in progress] == [1_000_000, 4_000_000]
    assert lines[0]["event"] == "plan" and lines[0]["download_bytes"] == 4_000_000
    assert [e["path"] for e in lines if e["event"] == "verified"] == ["config.json", "model.safetensors"]


def test_live_display_draws_a_bar_per_file_and_the_total() -> None:
    out = io.StringIO()
    reporter = LivePullReporter(Console(file=out, force_terminal=True, width=120))
    for event in _events():
        reporter(event)
    reporter.close()
    text = out.getvalue()
    assert "model.safetensors (4.0 MB)" in text and "total" in text and "4.0/4.0 MB" in text
