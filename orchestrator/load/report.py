"""The run's report: summary JSON (settings, server `/info`, figures with their definitions, server metrics, SLO
verdict), every exact sample as JSONL, and PNG plots of latency percentiles and throughput over time.

Locust writes its own CSV and HTML next to these (`--csv`, `--html`); their times are Locust's bucketed ones, ours
are exact. Plots use matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

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


def _bins(samples: Sequence[Sample], width: float) -> tuple[float, list[list[Sample]]]:
    t0 = min(s.start_at for s in samples)
    t1 = max(s.start_at + s.e2e for s in samples)
    n = max(1, math.ceil((t1 - t0) / width))
    bins: list[list[Sample]] = [[] for _ in range(n)]
    for s in samples:
        index = min(n - 1, int((s.start_at + s.e2e - t0) / width))
        bins[index].append(s)
    return t0, bins


def plot_run(samples: Sequence[Sample], directory: Path) -> list[Path]:
    """`latency.png` (TTFT, ITL and e2e p50/p90/p99 per time bin) and `throughput.png` (tokens/s, requests/s)."""
    ok = [s for s in samples if s.ok]
    if not ok:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    span = max(s.start_at + s.e2e for s in ok) - min(s.start_at for s in ok)
    width = max(0.25, span / 60)
    t0, bins = _bins(ok, width)
    xs = [(i + 0.5) * width for i in range(len(bins))]
    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    getters: tuple[tuple[Any, str, Callable[[Sample], float | None]], ...] = (
        (axes[0], "TTFT (ms)", lambda s: s.ttft),
        (axes[1], "ITL (ms)", lambda s: s.itl),
        (axes[2], "e2e (ms)", lambda s: s.e2e),
    )
    for ax, label, getter in getters:
        for q, style in ((50, "-"), (90, "--"), (99, ":")):
            ys = []
            for b in bins:
                values = sorted(v for v in (getter(s) for s in b) if v is not None)
                ys.append(percentile(values, q) * 1000 if values else math.nan)
            ax.plot(xs, ys, style, label=f"p{q}")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("time since start (s), by request completion")
    fig.suptitle("Latency percentiles over time (exact per-request samples)")
    fig.tight_layout()
    latency = directory / "latency.png"
    fig.savefig(latency, dpi=90)
    plt.close(fig)

    all_t0, all_bins = _bins(list(samples), width)
    fig, ax1 = plt.subplots(figsize=(9, 4))
    ax1.plot(xs, [sum(s.tokens for s in b) / width for b in bins], label="output tokens/s")
    ax1.set_ylabel("output tokens/s")
    ax2 = ax1.twinx()
    ax2.plot(
        [(i + 0.5) * width + (all_t0 - t0) for i in range(len(all_bins))],
        [sum(1 for s in b if s.ok) / width for b in all_bins],
        "g--",
        label="requests/s",
    )
    ax2.plot(
        [(i + 0.5) * width + (all_t0 - t0) for i in range(len(all_bins))],
        [sum(1 for s in b if not s.ok) / width for b in all_bins],
        "r:",
        label="errors/s",
    )
    ax2.set_ylabel("requests/s")
    ax1.set_xlabel("time since start (s)")
    ax1.grid(True, alpha=0.3)
    fig.legend(loc="upper right", fontsize=8)
    fig.suptitle("Throughput over time")
    fig.tight_layout()
    throughput = directory / "throughput.png"
    fig.savefig(throughput, dpi=90)
    plt.close(fig)
    return [latency, throughput]
