"""The server's own view of a run: `/metrics` scraped before and after, differenced.

The engine's histograms (names from `Engine.server_metrics`) are cumulative, so (after - before) of `_sum` and `_count` gives the mean over the run, and the
bucket differences give approximate percentiles (Prometheus' `histogram_quantile`: linear inside a bucket). Those
server-side queue, inference and per-token times go next to the client's exact figures in the report: the gap
between them is network, HTTP and load-generator time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from orchestrator.engines.base import ServerMetrics
from orchestrator.formats.prometheus import Series, parse_prometheus, value

__all__ = ["diff_metrics", "parse_prometheus", "side_by_side"]


def _names(names: ServerMetrics | None) -> ServerMetrics:
    """The served engine's metric names: those given, else TGI's."""
    if names is not None:
        return names
    from orchestrator.engines.tgi.metrics import SERVER

    return SERVER


def _buckets(series: Series, name: str) -> list[tuple[float, float]]:
    acc: dict[float, float] = {}
    for (n, lab), v in series.items():
        if n != f"{name}_bucket":
            continue
        le = dict(lab).get("le")
        if le is None:
            continue
        bound = math.inf if le in ("+Inf", "inf") else float(le)
        acc[bound] = acc.get(bound, 0.0) + v
    return sorted(acc.items())


def _quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return prev_bound
            if count == prev_count:
                return bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = bound, count
    return None


def diff_metrics(before: Series, after: Series, names: ServerMetrics | None = None) -> dict[str, Any]:
    """Per histogram: count, mean, ~p50 and ~p99 over the run; failures by the engine's failure label (TGI's
    `err`, vLLM's `finished_reason` abort/error); request counters. `names`: the engine's (default TGI's)."""
    names = _names(names)
    out: dict[str, Any] = {"histograms": {}, "failures": {}, "counters": {}}
    for name, meaning in names.histograms.items():
        count = value(after, f"{name}_count") - value(before, f"{name}_count")
        if count <= 0:
            continue
        total = value(after, f"{name}_sum") - value(before, f"{name}_sum")
        b_after = dict(_buckets(after, name))
        b_before = dict(_buckets(before, name))
        delta = [(le, b_after[le] - b_before.get(le, 0.0)) for le in sorted(b_after)]
        out["histograms"][name] = {
            "meaning": meaning,
            "count": count,
            "mean": total / count,
            "p50_approx": _quantile(0.5, delta),
            "p99_approx": _quantile(0.99, delta),
        }
    errs: dict[str, float] = {}
    for (n, lab), v in after.items():
        if n == names.failures:
            err = dict(lab).get(names.failure_label, "unknown")
            if not names.is_failure(err):
                continue
            errs[err] = errs.get(err, 0.0) + v - before.get((n, lab), 0.0)
    out["failures"] = {k: v for k, v in errs.items() if v}
    for name in names.request_counters:
        out["counters"][name] = value(after, name) - value(before, name)
    return out


def side_by_side(
    client: Mapping[str, Any], server: Mapping[str, Any], names: ServerMetrics | None = None
) -> list[tuple[str, str, str]]:
    """Rows (figure, client, server) for the table that shows both views of the same run."""

    def ms(v: Any) -> str:
        return "-" if v is None else f"{float(v) * 1000:.2f} ms"

    names = _names(names)
    hist = server.get("histograms", {})
    rows = []
    e2e = client.get("e2e_s") or {}
    rows.append(("e2e mean", ms(e2e.get("mean")), ms(hist.get(names.e2e, {}).get("mean"))))
    rows.append(("queue mean", "-", ms(hist.get(names.queue, {}).get("mean"))))
    rows.append(("inference mean", "-", ms(hist.get(names.inference, {}).get("mean"))))
    tpot = client.get("tpot_s") or {}
    rows.append(
        (
            "time per token mean",
            ms(tpot.get("mean")),
            ms(hist.get(names.time_per_token, {}).get("mean")),
        )
    )
    if names.ttft is not None:  # engines that measure it (vLLM)
        ttft = client.get("ttft_s") or {}
        rows.append(("TTFT mean", ms(ttft.get("mean")), ms(hist.get(names.ttft, {}).get("mean"))))
    return rows
