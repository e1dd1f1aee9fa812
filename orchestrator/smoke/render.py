"""Report -> data for people (table rows) and machines (`--json`); the CLI only prints what this returns."""

from __future__ import annotations

from typing import Any

from orchestrator.smoke.results import CheckStatus, SmokeReport

__all__ = ["STATUS_LABEL", "summary_line", "table_rows", "to_json_data"]

STATUS_LABEL = {CheckStatus.PASS: "PASS", CheckStatus.FAIL: "FAIL", CheckStatus.SKIP: "SKIP"}


def to_json_data(report: SmokeReport) -> dict[str, Any]:
    """A stable JSON shape: `ok`, `url`, counts and one object per check in run order."""
    return {
        "ok": report.ok,
        "url": report.url,
        "engine": report.engine,
        "started_at": report.started_at,
        "duration_s": round(report.duration_s, 4),
        "passed": report.count(CheckStatus.PASS),
        "failed": report.count(CheckStatus.FAIL),
        "skipped": report.count(CheckStatus.SKIP),
        "checks": [
            {
                "name": r.name,
                "title": r.title,
                "status": r.status.value,
                "duration_s": round(r.duration_s, 4),
                "detail": r.detail,
            }
            for r in report.results
        ],
    }


def table_rows(report: SmokeReport) -> list[tuple[str, str, str, str]]:
    """(status, check title, time in ms, detail) per check."""
    return [
        (STATUS_LABEL[r.status], r.title, f"{r.duration_s * 1000:.0f} ms", r.detail) for r in report.results
    ]


def summary_line(report: SmokeReport) -> str:
    verdict = "all checks passed" if report.ok else "SMOKE FAILED"
    return (
        f"{verdict}: {report.count(CheckStatus.PASS)} passed, {report.count(CheckStatus.FAIL)} failed, "
        f"{report.count(CheckStatus.SKIP)} skipped against {report.url} in {report.duration_s:.2f} s"
    )
