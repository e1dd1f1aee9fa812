"""The run's report: summary JSON (settings, the run's window and how it stopped, server `/info`, figures with
their definitions, server metrics, SLO verdict, outcome), every exact sample as JSONL, and PNG plots
(`plots.py`).

Locust writes its own CSV and HTML next to these (`--csv`, `--html`); their times are Locust's bucketed ones, ours
are exact.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.load.collector import SampleCollector
from orchestrator.load.compare import compare_targets
from orchestrator.load.engines import server_metrics_of
from orchestrator.load.figures import DEFINITIONS, Figures, Sample, summarize, summarize_by_scenario
from orchestrator.load.options import LoadOptions
from orchestrator.load.outcome import SLO_EXIT_CODE, judge
from orchestrator.load.plots import plot_run
from orchestrator.load.server_metrics import diff_metrics, parse_prometheus
from orchestrator.load.slo import evaluate

__all__ = ["SAMPLES_FILE", "SLO_EXIT_CODE", "SUMMARY_FILE", "RunRecord", "read_samples", "write_reports"]

SUMMARY_FILE = "summary.json"
SAMPLES_FILE = "samples.jsonl"

STOP_REASONS = {
    "duration": "the run time was over",
    "requests": "every one of --requests was answered",
    "interrupted": "interrupted (Ctrl-C or SIGTERM): the report covers what finished before the stop",
    "locust": "Locust stopped the run (the end of a --shape, or an error)",
}


@dataclass
class RunRecord:
    """Everything known about one finished run (master or local process)."""

    options: LoadOptions
    host: str
    user_classes: list[str]
    users: int
    processes: int
    started_at: float
    stopped_at: float
    info: bytes | None
    metrics_before: bytes | None
    metrics_after: bytes | None
    collector: SampleCollector
    window_start: float = 0.0
    """the first scheduled send (open loop) or the test start (closed loop); 0: unknown"""
    window_stop: float = 0.0
    """when the load stopped (run time over, --requests answered, interrupted); 0: unknown"""
    stop_reason: str = "locust"
    run_time: float | None = None
    engine: str = "tgi"
    """The engine loaded (`tgi`, `vllm`): its routes were used and its metric names read."""

    @property
    def window(self) -> tuple[float, float] | None:
        return (self.window_start, self.window_stop) if self.window_start and self.window_stop else None

    @property
    def interrupted(self) -> bool:
        return self.stop_reason == "interrupted"

    def run_section(self) -> dict[str, Any]:
        """The window, the warm-up before it and how the run stopped: what the rates are taken over."""
        return {
            "window_start_at": self.window_start or None,
            "window_stop_at": self.window_stop or None,
            "window_s": max(0.0, self.window_stop - self.window_start) if self.window else None,
            "warmup_s": max(0.0, self.window_start - self.started_at) if self.window_start else None,
            "run_time_s": self.run_time,
            "requests_limit": self.options.requests or None,
            "stop_reason": self.stop_reason,
            "stopped_because": STOP_REASONS.get(self.stop_reason, self.stop_reason),
            "interrupted": self.interrupted,
            "meaning": "rates are over the window: from the first scheduled send (open loop; the test start in "
            "closed loop) to the stop. warmup_s is the time before it (spawning users, a margin for workers); "
            "after the stop nothing is sent, and requests still in flight are counted as unfinished",
        }

    def _by_turn(self, samples: Sequence[Sample]) -> dict[str, Any]:
        """Multi-turn sessions: the figures of each turn index (TTFT grows with the conversation it carries)."""
        turns: dict[int, list[Sample]] = {}
        for sample in samples:
            if sample.turn is not None:
                turns.setdefault(sample.turn, []).append(sample)
        kw: dict[str, Any] = {"late_after": self.options.late_after, "window": self.window}
        return {str(turn): summarize(group, **kw).to_dict() for turn, group in sorted(turns.items())}

    def summary(self) -> dict[str, Any]:
        samples = self.collector.samples
        by = summarize_by_scenario(
            samples,
            late_after=self.options.late_after,
            extra_percentiles=self.options.slo.percentiles(),
            window=self.window,
        )
        passed, checks, verdict = evaluate(self.options.slo, by["all"])
        outcome = judge(
            by["all"],
            max_error_rate=self.options.max_error_rate,
            slo_passed=passed,
            interrupted=self.interrupted,
        )
        info: Any = None
        if self.info:
            try:
                info = json.loads(self.info)
            except ValueError:
                info = None
        server = None
        if self.metrics_before is not None and self.metrics_after is not None:
            server = diff_metrics(
                parse_prometheus(self.metrics_before.decode("utf-8", "replace")),
                parse_prometheus(self.metrics_after.decode("utf-8", "replace")),
                server_metrics_of(self.engine),
            )
        token_check = self.collector.token_check.to_dict()
        arrivals = dict(self.collector.arrivals)
        return {
            "host": self.host,
            "engine": self.engine,
            "interrupted": self.interrupted,
            "started_at": self.started_at,
            "stopped_at": self.stopped_at,
            "duration_s": max(0.0, self.stopped_at - self.started_at),
            "run": self.run_section(),
            "settings": {
                **self.options.describe(),
                "user_classes": self.user_classes,
                "users": self.users,
                "processes": self.processes,
                "workers_reporting": sorted(self.collector.workers_seen),
            },
            "server_info": info,
            "definitions": DEFINITIONS,
            "figures": {name: fig.to_dict() for name, fig in by.items()},
            "workload": self.collector.workload or None,
            "figures_by_turn": self._by_turn(samples) if self.options.sessions.multi_turn else None,
            "arrivals": _arrivals(arrivals, by["all"]) if self.options.open_loop else None,
            "server_metrics": server,
            "token_check": token_check,
            "load_generator": {
                "cpu_s": self.collector.cpu_s,
                "token_events": sum(s.token_events for s in samples),
                "token_events_per_cpu_s": (
                    sum(s.token_events for s in samples) / self.collector.cpu_s
                    if self.collector.cpu_s
                    else None
                ),
                "meaning": "CPU time of the load processes from test start to stop, and stream events they parsed",
            },
            "warnings": _warnings(by["all"], token_check)
            + (
                _pool_warning(arrivals, by["all"], self.options.rate, self.users)
                if self.options.rate > 0
                else []
            )
            + _workload_warnings(self.collector.workload),
            "slo": {
                "thresholds": self.options.slo.to_dict(),
                "passed": passed,
                "verdict": verdict,
                "checks": [
                    {"key": c.key, "limit": c.limit, "actual": c.actual, "passed": c.passed} for c in checks
                ],
            },
            "outcome": outcome.to_dict(),
            "samples_file": SAMPLES_FILE,
            "ab": (
                compare_targets(
                    samples,
                    hosts=(self.host, self.options.url_b),
                    window=self.window,
                    late_after=self.options.late_after,
                    seed=self.options.seed or 0,
                )
                if self.options.url_b
                else None
            ),
        }


def _arrivals(counters: dict[str, int], fig: Figures) -> dict[str, Any]:
    """The schedule's counters with the identities they satisfy: every slot due in the window was sent, dropped
    or not yet taken at the stop; every send was answered (completed) or was in flight at the stop."""
    return {
        **counters,
        "completed": fig.requests,
        "unfinished": fig.unfinished,
        "meaning": "slots = the window's scheduled sends = sent + dropped + unsent_at_stop; sent = completed + "
        "unfinished (in flight at the stop); not_due_at_stop: handed out ahead to waiting users, due after the "
        "window, not counted",
    }


def _pool_warning(arrivals: dict[str, int], fig: Figures, rate: float, users: int) -> list[str]:
    """Open loop: too few users for the rate shows as late, dropped and untaken slots; say how many are needed."""
    missed = arrivals.get("late", 0) + arrivals.get("dropped", 0) + arrivals.get("unsent_at_stop", 0)
    slots = arrivals.get("slots", 0)
    if not slots or missed <= 0.1 * slots:
        return []
    e2e = fig.e2e_s.p(99) if fig.e2e_s is not None else None
    need = f"; at least rate x e2e p99 = {math.ceil(rate * e2e)} users" if e2e else ""
    return [
        f"{missed} of {slots} slots were sent late, dropped or not taken by the stop: {users} users are too few "
        f"for {rate:g} req/s (latency counts the wait for a free user){need}"
    ]


def _workload_warnings(workload: dict[str, Any]) -> list[str]:
    """Dataset rows or trace entries left out: over the server's limits, or conversations with no human turn."""
    out = []
    for kind in ("dataset", "trace"):
        part = workload.get(kind) or {}
        if part.get("skipped_over_limit"):
            out.append(
                f"{part['skipped_over_limit']} {kind} prompts were skipped (not sent): over the server's limits "
                f"{part.get('limits') or workload.get('limits') or ''}".rstrip()
            )
        if part.get("skipped_no_user_turn"):
            out.append(
                f"{part['skipped_no_user_turn']} dataset conversations had no human turn and were skipped"
            )
    return out


def _warnings(fig: Figures, token_check: dict[str, Any]) -> list[str]:
    out = []
    if token_check.get("above_1_percent"):
        out.append(
            f"server token counts differ from the Mistral tokenizer's by {token_check['mismatch_ratio']:.2%} "
            f"(> 1 %) over {token_check['requests']} checked requests"
        )
    if fig.token_events_mismatches:
        out.append(
            f"{fig.token_events_mismatches} streams had a token-event count unlike the server's token count"
        )
    if fig.input_token_mismatches:
        out.append(
            f"{fig.input_token_mismatches} requests had a server input length unlike the prompt's planned one"
        )
    if fig.unfinished:
        out.append(
            f"{fig.unfinished} requests were still in flight at the end: not in the latency figures; SLO checks on "
            "TTFT and e2e count their elapsed time as a lower bound"
        )
    if fig.early_stops:
        out.append(
            f"{fig.early_stops} requests stopped before their max_new_tokens (finish reason not length)"
        )
    return out


def write_samples(samples: Sequence[Sample], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for s in samples:
            fh.write(json.dumps(s.to_dict(), separators=(",", ":")) + "\n")


def read_samples(path: Path) -> list[Sample]:
    with path.open(encoding="utf-8") as fh:
        return [Sample(**json.loads(line)) for line in fh if line.strip()]


def write_reports(record: RunRecord, summary: dict[str, Any], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    write_samples(record.collector.samples, directory / SAMPLES_FILE)
    plots = plot_run(record.collector.samples, directory, record.window)
    summary["plots"] = [p.name for p in plots]
    (directory / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
