"""`orchestrator load --sweep`: open-loop runs at rising rates, stopping at the first that fails.

A run fails when it misses an SLO or when its requests fail (`outcome.py`); the goodput is the highest rate whose
run passed. Each run writes its own report into `rate-<R>/`; `sweep.json` and `sweep.png` cover them all. An
interrupted run ends the sweep (its rows so far are written, marked interrupted).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from orchestrator.load import runner
from orchestrator.load.options import LoadOptions
from orchestrator.load.outcome import INTERRUPTED_EXIT_CODE, REQUESTS_FAILED_EXIT_CODE, SLO_EXIT_CODE
from orchestrator.load.plots import plot_sweep
from orchestrator.load.report import SAMPLES_FILE, read_samples
from orchestrator.load.request import LoadRequest, LoadResult

__all__ = ["SweepResult", "run_sweep"]


@dataclass
class SweepResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    goodput_rate: float | None = None
    report_dir: Path | None = None
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "goodput_rate": self.goodput_rate,
            "definition": "highest offered rate (requests/s) whose run met every SLO with its requests not failing",
            "interrupted": self.interrupted,
            "runs": self.rows,
        }

    @property
    def exit_code(self) -> int:
        """130 interrupted; 0 when some rate passed; else 7 when the first failing run's requests failed, or 5."""
        if self.interrupted:
            return INTERRUPTED_EXIT_CODE
        if self.goodput_rate is not None:
            return 0
        failing = next((r for r in self.rows if not r["passed"]), None)
        return REQUESTS_FAILED_EXIT_CODE if failing and not failing["requests_passed"] else SLO_EXIT_CODE


def _sweep_row(result: LoadResult, rate: float, options: LoadOptions) -> dict[str, Any]:
    fig = result.summary["figures"]["all"]
    samples = read_samples(result.request.report_dir / SAMPLES_FILE)
    window = fig["window_s"] or 1.0
    good = sum(1 for s in samples if options.slo.request_ok(s)) if options.slo else fig["succeeded"]
    requests_passed = not result.problems

    def p(name: str, q: str) -> float | None:
        dist = fig.get(name)
        return dist["percentiles"][q] if dist else None

    return {
        "rate": rate,
        "passed": result.slo_passed and requests_passed and not result.interrupted,
        "verdict": result.verdict,
        "requests_passed": requests_passed,
        "problems": result.problems,
        "send_rate": fig["send_rate"],
        "request_rate": fig["request_rate"],
        "goodput_requests_per_s": good / window,
        "error_rate": fig["error_rate"],
        "ttft_p50": p("ttft_s", "p50"),
        "ttft_p99": p("ttft_s", "p99"),
        "itl_p50": p("itl_s", "p50"),
        "itl_p99": p("itl_s", "p99"),
        "e2e_p50": p("e2e_s", "p50"),
        "e2e_p99": p("e2e_s", "p99"),
        "report_dir": str(result.request.report_dir),
    }


def run_sweep(base: LoadRequest, rates: Sequence[float], *, keep_going: bool = False) -> SweepResult:
    """Open-loop runs at each rate (rising) until one fails; goodput = last rate that passed."""
    runner.require_load_extra()
    out = SweepResult(report_dir=base.report_dir)
    runner.prepare_report_dir(base.report_dir)
    for rate in rates:
        req = replace(
            base, report_dir=base.report_dir / f"rate-{rate:g}", options=replace(base.args, rate=rate)
        )
        options = req.checked_options()
        result = runner.run_load(req)
        row = _sweep_row(result, rate, options)
        out.rows.append(row)
        if result.interrupted:
            out.interrupted = True
            break
        if row["passed"]:
            out.goodput_rate = rate
        elif not keep_going:
            break
    (base.report_dir / "sweep.json").write_text(json.dumps(out.to_dict(), indent=2) + "\n", encoding="utf-8")
    plot_sweep(out.rows, out.goodput_rate, base.report_dir / "sweep.png")
    return out
