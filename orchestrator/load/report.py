"""The run's report: summary JSON (settings, server `/info`, figures with their definitions, server metrics, SLO
verdict), every exact sample as JSONL, and PNG plots of latency percentiles and throughput over time.

Locust writes its own CSV and HTML next to these (`--csv`, `--html`); their times are Locust's bucketed ones, ours
are exact. Plots use matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.load.collector import SampleCollector
from orchestrator.load.figures import (
    DEFINITIONS,
    Figures,
    Sample,
    percentile,
    summarize,
    summarize_by_scenario,
)
from orchestrator.load.options import LoadOptions
from orchestrator.load.server_metrics import diff_metrics, parse_prometheus
from orchestrator.load.slo import evaluate

__all__ = ["SLO_EXIT_CODE", "SUMMARY_FILE", "RunRecord", "plot_run", "write_reports"]

SLO_EXIT_CODE = 5
SUMMARY_FILE = "summary.json"
SAMPLES_FILE = "samples.jsonl"


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

    def figures_all(self) -> Figures:
        return summarize(
            self.collector.samples,
            late_after=self.options.late_after,
            extra_percentiles=self.options.slo.percentiles(),
        )

    def summary(self) -> dict[str, Any]:
        samples = self.collector.samples
        by = summarize_by_scenario(
            samples, late_after=self.options.late_after, extra_percentiles=self.options.slo.percentiles()
        )
        passed, checks, verdict = evaluate(self.options.slo, by["all"])
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
            )
        token_check = self.collector.token_check.to_dict()
        arrivals = dict(self.collector.arrivals)
        return {
            "host": self.host,
            "started_at": self.started_at,
            "stopped_at": self.stopped_at,
            "duration_s": max(0.0, self.stopped_at - self.started_at),
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
            "arrivals": arrivals if self.options.rate > 0 else None,
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
            "warnings": _warnings(by["all"], token_check),
            "slo": {
                "thresholds": self.options.slo.to_dict(),
                "passed": passed,
                "verdict": verdict,
                "checks": [
                    {"key": c.key, "limit": c.limit, "actual": c.actual, "passed": c.passed} for c in checks
                ],
            },
            "samples_file": SAMPLES_FILE,
        }


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
    plots = plot_run(record.collector.samples, directory)
    summary["plots"] = [p.name for p in plots]
    (directory / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")


def rolling_percentiles(
    points: Sequence[tuple[float, float]], centers: Sequence[float], window: float, qs: Sequence[float]
) -> dict[float, list[float]]:
    """Percentiles of the values whose time lies within +- window/2 of each center (NaN where none)."""
    ordered = sorted(points)
    times = [t for t, _ in ordered]
    out: dict[float, list[float]] = {q: [] for q in qs}
    for c in centers:
        lo, hi = bisect.bisect_left(times, c - window / 2), bisect.bisect_right(times, c + window / 2)
        values = sorted(v for _, v in ordered[lo:hi])
        for q in qs:
            out[q].append(percentile(values, q) if values else math.nan)
    return out


def token_rate(samples: Sequence[Sample], edges: Sequence[float]) -> list[float]:
    """Output tokens/s per interval, each request's tokens spread evenly over its decode time (first token to end);
    by completion time would show spikes when a closed loop's requests finish together."""
    rates = [0.0] * (len(edges) - 1)
    for s in samples:
        if not s.ok or s.tokens <= 0:
            continue
        begin = s.start_at + (s.ttft if s.ttft is not None else 0.0)
        end = s.start_at + s.e2e
        span = max(end - begin, 1e-9)
        first = max(0, bisect.bisect_right(edges, begin) - 1)
        for k in range(first, len(rates)):
            lo, hi = edges[k], edges[k + 1]
            if lo >= end:
                break
            overlap = min(hi, end) - max(lo, begin)
            if overlap > 0:
                rates[k] += s.tokens * overlap / span
    widths = [b - a for a, b in itertools.pairwise(edges)]
    return [r / w for r, w in zip(rates, widths, strict=True)]


def plot_run(samples: Sequence[Sample], directory: Path) -> list[Path]:
    """`latency.png` (each request, and rolling p50/p90/p99 of TTFT, ITL and e2e by completion time) and
    `throughput.png` (output tokens/s, completed requests/s and errors/s)."""
    ok = [s for s in samples if s.ok]
    if not ok:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = min(s.start_at for s in samples)
    t1 = max(s.start_at + s.e2e for s in samples)
    span = max(t1 - t0, 1e-3)
    window = max(1.0, span / 15)
    centers = [span * i / 100 for i in range(101)]
    getters: tuple[tuple[str, Callable[[Sample], float | None]], ...] = (
        ("TTFT (ms)", lambda s: s.ttft),
        ("ITL (ms)", lambda s: s.itl),
        ("e2e (ms)", lambda s: s.e2e),
    )
    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    for ax, (label, getter) in zip(axes, getters, strict=True):
        points = [(s.start_at + s.e2e - t0, v * 1000) for s in ok if (v := getter(s)) is not None]
        if points:
            ax.scatter(
                [p[0] for p in points], [p[1] for p in points], s=4, color="grey", alpha=0.35, label="request"
            )
            rolled = rolling_percentiles(points, centers, window, (50, 90, 99))
            for q, style in ((50, "-"), (90, "--"), (99, ":")):
                ax.plot(centers, rolled[q], style, label=f"p{q} (rolling {window:.1f} s)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize=7)
    axes[-1].set_xlabel("time since start (s), at request completion")
    fig.suptitle("Latency over time (exact per-request samples)")
    fig.tight_layout()
    latency = directory / "latency.png"
    fig.savefig(latency, dpi=90)
    plt.close(fig)

    width = max(1.0, span / 60)
    edges = [t0 + width * i for i in range(math.ceil(span / width) + 1)]
    mids = [(a + b) / 2 - t0 for a, b in itertools.pairwise(edges)]
    done = [0.0] * len(mids)
    failed = [0.0] * len(mids)
    for s in samples:
        k = min(len(mids) - 1, int((s.start_at + s.e2e - t0) / width))
        (done if s.ok else failed)[k] += 1 / width
    fig, ax1 = plt.subplots(figsize=(9, 4))
    ax1.plot(mids, token_rate(samples, edges), label="output tokens/s")
    ax1.set_ylabel("output tokens/s")
    ax2 = ax1.twinx()
    ax2.plot(mids, done, "g--", label="completed requests/s")
    ax2.plot(mids, failed, "r:", label="errors/s")
    ax2.set_ylabel("requests/s")
    ax1.set_xlabel(f"time since start (s), {width:.1f} s bins")
    ax1.grid(True, alpha=0.3)
    fig.legend(loc="upper right", fontsize=8)
    fig.suptitle("Throughput over time")
    fig.tight_layout()
    throughput = directory / "throughput.png"
    fig.savefig(throughput, dpi=90)
    plt.close(fig)
    return [latency, throughput]
