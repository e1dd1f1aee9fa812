"""Rows, title and lines of the readable summary, from a summary JSON (pure; the CLI renders them).

One row per figure and one column per scenario (plus `all` for a mix), so the table fits a narrow terminal. The
title says over which window the rates are taken and how the run stopped (INTERRUPTED when it was).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["arrivals_line", "figure_table", "run_title", "server_rows"]


def _ms(key: str, q: str) -> Callable[[Mapping[str, Any]], str]:
    def get(f: Mapping[str, Any]) -> str:
        dist = f.get(key)
        return "-" if not dist else f"{dist['percentiles'][q] * 1000:.2f} ms"

    return get


ROWS: tuple[tuple[str, Callable[[Mapping[str, Any]], str]], ...] = (
    ("requests", lambda f: str(f["requests"])),
    ("errors", lambda f: f"{f['failed']} ({f['error_rate']:.1%})"),
    ("early stops", lambda f: str(f["early_stops"])),
    ("unfinished at the end", lambda f: str(f.get("unfinished", 0))),
    ("client retries", lambda f: str(f.get("retries", 0))),
    ("requests/s", lambda f: f"{f['request_rate']:.2f}"),
    ("output tokens/s", lambda f: f"{f['output_tokens_per_s']:.0f}"),
    ("TTFT p50", _ms("ttft_s", "p50")),
    ("TTFT p90", _ms("ttft_s", "p90")),
    ("TTFT p99", _ms("ttft_s", "p99")),
    ("ITL p50", _ms("itl_s", "p50")),
    ("ITL p99", _ms("itl_s", "p99")),
    ("TPOT p50", _ms("tpot_s", "p50")),
    ("e2e p50", _ms("e2e_s", "p50")),
    ("e2e p99", _ms("e2e_s", "p99")),
    ("tokens/s per request p50", lambda f: "-" if not f.get("tokens_per_s_request") else
     f"{f['tokens_per_s_request']['percentiles']['p50']:.1f}"),
)  # fmt: skip


def figure_table(summary: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(column headers, rows): `figure`, then each scenario (and `all` when there are several); in an A/B run,
    one column per endpoint instead (mixing both would describe neither)."""
    ab = summary.get("ab")
    if ab:
        figures = {f"{t.upper()}: {ab['hosts'][t]}": ab["figures"][t] for t in ("a", "b")}
        names = list(figures)
        rows = [[label, *(get(figures[n]) for n in names)] for label, get in ROWS]
        return ["figure", *names], rows
    figures = summary.get("figures", {})
    names = [n for n in figures if n != "all"]
    if len(names) != 1 and "all" in figures:
        names.append("all")
    rows = [[label, *(get(figures[n]) for n in names)] for label, get in ROWS]
    return ["figure", *names], rows


def server_rows(summary: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(server histogram, count, mean, ~p99) from the /metrics difference; empty when not scraped."""
    server = summary.get("server_metrics") or {}
    rows = []
    for name, h in (server.get("histograms") or {}).items():
        unit_ms = not name.endswith(("tokens", "length"))

        def fmt(v: Any, unit_ms: bool = unit_ms) -> str:
            if v is None:
                return "-"
            return f"{v * 1000:.2f} ms" if unit_ms else f"{v:.1f}"

        rows.append(
            (
                f"{name.removeprefix('tgi_request_').removeprefix('vllm:')}",
                f"{h['count']:.0f}",
                fmt(h["mean"]),
                fmt(h.get("p99_approx")) if unit_ms else "-",  # token-count buckets are too coarse
            )
        )
    return rows


def _mode(settings: Mapping[str, Any]) -> str:
    if settings.get("trace"):
        return f"trace replay (open loop, offsets x {settings.get('time_scale', 1.0):g}), {settings['users']} users"
    if settings["rate"] > 0:
        return f"open loop {settings['arrival']} {settings['rate']:g} req/s"
    return f"closed loop, {settings['users']} users"


def run_title(summary: Mapping[str, Any]) -> str:
    """`[INTERRUPTED - ]host - mode - window (warm-up) - how it stopped - processes`."""
    run = summary.get("run") or {}
    settings = summary["settings"]
    if run.get("window_s") is not None:
        span = f"{run['window_s']:.2f} s window"
        if run.get("warmup_s"):
            span += f" (after {run['warmup_s']:.2f} s warm-up)"
        span += f", stopped by {run['stop_reason']}"
    else:
        span = f"{summary['duration_s']:.1f} s"
    parts = [str(summary["host"]), _mode(settings), span, f"{settings['processes']} process(es)"]
    if summary.get("interrupted"):
        parts.insert(0, "INTERRUPTED")
    return " - ".join(parts)


def workload_lines(summary: Mapping[str, Any]) -> list[str]:
    """What was sent besides the defaults: dataset, prefix groups, sessions with TTFT per turn; empty otherwise."""
    workload = summary.get("workload") or {}
    lines = []
    dataset = workload.get("dataset")
    if dataset:
        lines.append(
            f"dataset: {dataset['path']} ({dataset['rows_used']} of {dataset['rows_read']} rows used; "
            f"{dataset['skipped_over_limit']} over the server's limits)"
        )
    prefix = workload.get("prefix") or {}
    if prefix.get("tokens"):
        lines.append(f"prefix: {prefix['groups']} group(s) of {prefix['tokens']} shared tokens")
    turns = summary.get("figures_by_turn") or {}
    if turns:
        cells = [
            f"turn {turn}: {fig['ttft_s']['percentiles']['p50'] * 1000:.1f} ms"
            if fig.get("ttft_s")
            else f"turn {turn}: -"
            for turn, fig in turns.items()
        ]
        lines.append("TTFT p50 by turn: " + ", ".join(cells))
    return lines


def arrivals_line(summary: Mapping[str, Any]) -> str | None:
    """Open loop: how the window's slots went, as identities that add up; None in a closed loop."""
    a = summary.get("arrivals")
    if not a:
        return None
    send_rate = summary["figures"]["all"].get("send_rate")
    send = f"{send_rate:.2f}" if send_rate else "-"
    if "sent" not in a:  # a summary from before the accounting was kept
        return f"arrivals: {a['slots']} slots, {a['late']} late, {a['dropped']} dropped; achieved send rate {send} req/s"
    return (
        f"arrivals: {a['slots']} slots due in the window = {a['sent']} sent + {a['dropped']} dropped + "
        f"{a['unsent_at_stop']} not taken by the stop; {a['late']} sent late; sent = {a['completed']} completed + "
        f"{a['unfinished']} in flight at the stop; achieved send rate {send} req/s"
    )


def ab_rows(summary: Mapping[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """A/B: (figure, A, B, B - A, 95 % interval of B - A, verdict) per compared percentile; empty otherwise."""
    ab = summary.get("ab")
    if not ab:
        return []

    def ms(v: Any) -> str:
        return "-" if v is None else f"{v * 1000:.2f} ms"

    rows = []
    for r in ab["differences"]:
        label = f"{r['figure'].removesuffix('_s').upper()} {r['percentile']}"
        if r.get("difference") is None:
            rows.append((label, ms(r["a"]), ms(r["b"]), "-", "-", "no samples"))
            continue
        rel = f" ({r['relative']:+.1%})" if r.get("relative") is not None else ""
        verdict = ("B slower" if r["difference"] > 0 else "B faster") if r["beyond_noise"] else "within noise"
        rows.append(
            (
                label,
                ms(r["a"]),
                ms(r["b"]),
                f"{r['difference'] * 1000:+.2f} ms{rel}",
                f"[{r['ci_low'] * 1000:+.2f}, {r['ci_high'] * 1000:+.2f}] ms",
                verdict,
            )
        )
    return rows
