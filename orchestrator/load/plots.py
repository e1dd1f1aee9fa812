"""PNG plots of a run (`latency.png`, `throughput.png`) and of a sweep (`sweep.png`), and the series they draw.

The series are computed by pure functions (`throughput_series`, `rolling_percentiles`, `token_rate`), so what a
plot shows can be tested without looking at pixels. Throughput is binned over the run's window (first scheduled
send to the stop): every bin's rate is its count divided by its own width, the last one included, and requests
still in flight at the stop are not errors (they are counted apart, as in the table). matplotlib's Agg backend:
no display needed; imported only when drawing.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.load.figures import UNFINISHED, Sample, percentile

__all__ = [
    "ThroughputSeries",
    "plot_run",
    "plot_sweep",
    "rolling_percentiles",
    "throughput_series",
    "token_rate",
]


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


def _streamed_tokens(s: Sample) -> int:
    """Tokens a request received: all of a successful one's, those seen so far of one in flight at the stop."""
    if s.ok:
        return s.tokens
    return s.token_events if s.error_type == UNFINISHED else 0


def token_rate(samples: Sequence[Sample], edges: Sequence[float]) -> list[float]:
    """Output tokens/s per interval, each request's tokens spread evenly over its decode time (first token to end);
    by completion time would show spikes when a closed loop's requests finish together. Streams still in flight
    at the stop count the tokens they had received, over the time they had been decoding."""
    rates = [0.0] * (len(edges) - 1)
    for s in samples:
        tokens = _streamed_tokens(s)
        if tokens <= 0:
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
                rates[k] += tokens * overlap / span
    widths = [b - a for a, b in itertools.pairwise(edges)]
    return [r / w for r, w in zip(rates, widths, strict=True)]


@dataclass(frozen=True)
class ThroughputSeries:
    """What `throughput.png` draws: per bin of the window, rates per second of the bin's own width."""

    edges: list[float]
    """bin edges, wall clock; the first is the window's start, the last its end"""
    output_tokens_per_s: list[float]
    completed_per_s: list[float]
    """successful requests by completion time"""
    errors_per_s: list[float]
    """failed requests by completion time; in-flight ones at the stop are not errors"""
    unfinished: int
    """requests still in flight at the stop (not drawn)"""

    @property
    def widths(self) -> list[float]:
        return [b - a for a, b in itertools.pairwise(self.edges)]

    @property
    def mids(self) -> list[float]:
        """Bin centers, seconds since the window's start."""
        return [(a + b) / 2 - self.edges[0] for a, b in itertools.pairwise(self.edges)]


def bin_edges(start: float, stop: float, target_bins: int = 60) -> list[float]:
    """Edges of bins at least 1 s wide over [start, stop]; a remainder under half a bin joins the last bin, so
    no bin is a sliver whose one count would read as a spike (every rate is divided by its bin's real width)."""
    span = max(stop - start, 1e-3)
    width = max(1.0, span / target_bins)
    full = max(1, math.floor(span / width))
    edges = [start + width * i for i in range(full)]
    if span - width * full >= width / 2:
        edges.append(start + width * full)
    edges.append(start + span)
    return edges


def throughput_series(
    samples: Sequence[Sample], window: tuple[float, float] | None = None
) -> ThroughputSeries:
    """Binned output tokens/s, completed requests/s and errors/s over `window` (start, stop), else over the
    samples' own span."""
    if window is None:
        window = (min(s.start_at for s in samples), max(s.start_at + s.e2e for s in samples))
    edges = bin_edges(*window)
    widths = [b - a for a, b in itertools.pairwise(edges)]
    done = [0] * len(widths)
    failed = [0] * len(widths)
    unfinished = 0
    for s in samples:
        if s.error_type == UNFINISHED:
            unfinished += 1
            continue
        k = min(len(widths) - 1, max(0, bisect.bisect_right(edges, s.start_at + s.e2e) - 1))
        (done if s.ok else failed)[k] += 1
    return ThroughputSeries(
        edges=edges,
        output_tokens_per_s=token_rate(samples, edges),
        completed_per_s=[n / w for n, w in zip(done, widths, strict=True)],
        errors_per_s=[n / w for n, w in zip(failed, widths, strict=True)],
        unfinished=unfinished,
    )


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_run(
    samples: Sequence[Sample], directory: Path, window: tuple[float, float] | None = None
) -> list[Path]:
    """`latency.png` (each request, and rolling p50/p90/p99 of TTFT, ITL and e2e by completion time) and
    `throughput.png` (output tokens/s, completed requests/s and errors/s), over the run's `window`."""
    ok = [s for s in samples if s.ok]
    if not ok:
        return []
    return [plot_latency(ok, directory / "latency.png", window), plot_throughput(samples, directory, window)]


def plot_latency(ok: Sequence[Sample], path: Path, window: tuple[float, float] | None) -> Path:
    plt = _pyplot()
    t0 = window[0] if window else min(s.start_at for s in ok)
    t1 = window[1] if window else max(s.start_at + s.e2e for s in ok)
    span = max(t1 - t0, 1e-3)
    rolling = max(1.0, span / 15)
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
            rolled = rolling_percentiles(points, centers, rolling, (50, 90, 99))
            for q, style in ((50, "-"), (90, "--"), (99, ":")):
                ax.plot(centers, rolled[q], style, label=f"p{q} (rolling {rolling:.1f} s)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize=7)
    axes[-1].set_xlabel("time since the window's start (s), at request completion")
    fig.suptitle("Latency over time (exact per-request samples)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_throughput(samples: Sequence[Sample], directory: Path, window: tuple[float, float] | None) -> Path:
    plt = _pyplot()
    series = throughput_series(samples, window)
    width = series.widths[0]
    fig, ax1 = plt.subplots(figsize=(9, 4.6))
    ax1.plot(series.mids, series.output_tokens_per_s, label="output tokens/s (left)")
    ax1.set_ylabel("output tokens/s")
    ax1.set_ylim(bottom=0)
    ax2 = ax1.twinx()
    ax2.plot(series.mids, series.completed_per_s, "g--", label="completed requests/s (right)")
    ax2.plot(series.mids, series.errors_per_s, "r:", label="errors/s (right)")
    ax2.set_ylabel("requests/s")
    ax2.set_ylim(bottom=0)
    ax1.set_xlabel(f"time since the window's start (s), {width:.1f} s bins")
    ax1.grid(True, alpha=0.3)
    title = "Throughput over time"
    if series.unfinished:
        title += f" ({series.unfinished} requests in flight at the stop: not errors, not drawn)"
    fig.suptitle(title, fontsize=11)
    handles = [*ax1.get_legend_handles_labels()[0], *ax2.get_legend_handles_labels()[0]]
    # below the axes: inside, a legend hides data or an axis label
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    path = directory / "throughput.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_sweep(rows: Sequence[dict[str, Any]], goodput_rate: float | None, path: Path) -> Path | None:
    """Latency percentiles and goodput against the offered rate, from a sweep's rows (`sweep.py`)."""
    if not rows:
        return None
    plt = _pyplot()
    rates = [r["rate"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    for key, style in (
        ("ttft_p50", "b-"),
        ("ttft_p99", "b:"),
        ("e2e_p50", "k-"),
        ("e2e_p99", "k:"),
        ("itl_p50", "m-"),
        ("itl_p99", "m:"),
    ):
        ys = [r[key] * 1000 if r[key] is not None else math.nan for r in rows]
        ax1.plot(rates, ys, style, marker="o", label=key)
    ax1.set_yscale("log")
    ax1.set_ylabel("latency (ms)")
    ax1.legend(fontsize=8)
    ax1.grid(True, alpha=0.3)
    ax2.plot(rates, [r["goodput_requests_per_s"] for r in rows], "g-o", label="goodput (req/s within SLO)")
    ax2.plot(rates, [r["request_rate"] for r in rows], "k--", label="completed req/s")
    ax2.plot(rates, rates, ":", color="grey", label="offered")
    if goodput_rate is not None:
        ax2.axvline(goodput_rate, color="g", alpha=0.4)
    ax2.set_xlabel("offered rate (requests/s)")
    ax2.set_ylabel("requests/s")
    ax2.legend(fontsize=8)
    ax2.grid(True, alpha=0.3)
    fig.suptitle(f"Rate sweep: goodput {goodput_rate or 0:g} req/s")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
