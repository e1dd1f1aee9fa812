"""The server's own view of a run: `/metrics` scraped before and after, differenced.

TGI's histograms are cumulative, so (after - before) of `_sum` and `_count` gives the mean over the run, and the
bucket differences give approximate percentiles (Prometheus' `histogram_quantile`: linear inside a bucket). Those
server-side queue, inference and per-token times go next to the client's exact figures in the report: the gap
between them is network, HTTP and load-generator time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from orchestrator.formats.prometheus import Series, parse_prometheus, value

__all__ = ["SERVER_HISTOGRAMS", "diff_metrics", "parse_prometheus"]

SERVER_HISTOGRAMS: dict[str, str] = {
    "tgi_request_duration": "e2e inside the server",
    "tgi_request_queue_duration": "waiting in the queue",
    "tgi_request_inference_duration": "prefill + decode",
    "tgi_request_validation_duration": "validation and tokenization",
    "tgi_request_mean_time_per_token_duration": "mean time per generated token",
    "tgi_request_generated_tokens": "generated tokens per request",
    "tgi_request_input_length": "input tokens per request",
}


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


def diff_metrics(before: Series, after: Series) -> dict[str, Any]:
    """Per histogram: count, mean, ~p50 and ~p99 over the run; failures by `err`; request counters."""
    out: dict[str, Any] = {"histograms": {}, "failures": {}, "counters": {}}
    for name, meaning in SERVER_HISTOGRAMS.items():
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
        if n == "tgi_request_failure":
            err = dict(lab).get("err", "unknown")
            errs[err] = errs.get(err, 0.0) + v - before.get((n, lab), 0.0)
    out["failures"] = {k: v for k, v in errs.items() if v}
    for name in ("tgi_request_count", "tgi_request_success"):
        out["counters"][name] = value(after, name) - value(before, name)
    return out


def side_by_side(client: Mapping[str, Any], server: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Rows (figure, client, server) for the table that shows both views of the same run."""

    def ms(v: Any) -> str:
        return "-" if v is None else f"{float(v) * 1000:.2f} ms"

    hist = server.get("histograms", {})
    rows = []
    e2e = client.get("e2e_s") or {}
    rows.append(("e2e mean", ms(e2e.get("mean")), ms(hist.get("tgi_request_duration", {}).get("mean"))))
    rows.append(("queue mean", "-", ms(hist.get("tgi_request_queue_duration", {}).get("mean"))))
    rows.append(("inference mean", "-", ms(hist.get("tgi_request_inference_duration", {}).get("mean"))))
    tpot = client.get("tpot_s") or {}
    rows.append(
        (
            "time per token mean",
            ms(tpot.get("mean")),
            ms(hist.get("tgi_request_mean_time_per_token_duration", {}).get("mean")),
        )
    )
    return rows
