"""Verdicts of `orchestrator doctor` (and of `up`'s preflight, which runs the same checks): ok, warn or fail.

A fail always carries its cause and its fix; `DoctorReport.exit_code` is non-zero when any check failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["FAIL", "OK", "WARN", "DoctorReport", "Verdict", "fail", "ok", "warn"]

Status = Literal["ok", "warn", "fail"]
OK: Status = "ok"
WARN: Status = "warn"
FAIL: Status = "fail"


@dataclass(frozen=True)
class Verdict:
    """One check's answer; `details` holds the figures behind it for `--json`."""

    check: str
    status: Status
    summary: str
    cause: str = ""
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"check": self.check, "status": self.status, "summary": self.summary}
        if self.cause:
            data["cause"] = self.cause
        if self.fix:
            data["fix"] = self.fix
        if self.details:
            data["details"] = self.details
        return data

    def describe(self) -> str:
        """One paragraph for people: the summary, then cause and fix on their own lines."""
        lines = [f"{self.check}: {self.summary}"]
        if self.cause:
            lines.append(f"  cause: {self.cause}")
        if self.fix:
            lines.append(f"  fix:   {self.fix}")
        return "\n".join(lines)


def ok(check: str, summary: str, **details: Any) -> Verdict:
    return Verdict(check, OK, summary, details=details)


def warn(check: str, summary: str, cause: str = "", fix: str = "", **details: Any) -> Verdict:
    return Verdict(check, WARN, summary, cause, fix, details)


def fail(check: str, summary: str, cause: str, fix: str, **details: Any) -> Verdict:
    return Verdict(check, FAIL, summary, cause, fix, details)


@dataclass(frozen=True)
class DoctorReport:
    """Every verdict in check order, and the capacity plan's JSON when one was made."""

    verdicts: tuple[Verdict, ...]
    plan: dict[str, Any] | None = None

    @classmethod
    def of(cls, verdicts: Iterable[Verdict], plan: dict[str, Any] | None = None) -> DoctorReport:
        return cls(tuple(verdicts), plan)

    @property
    def failed(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.status == FAIL)

    @property
    def exit_code(self) -> int:
        """0 when nothing failed; 3 (the host is not ready, as for `up`) otherwise."""
        return 3 if self.failed else 0

    def to_json(self) -> dict[str, Any]:
        counts = {status: sum(v.status == status for v in self.verdicts) for status in (OK, WARN, FAIL)}
        return {
            "ok": not self.failed,
            "exit_code": self.exit_code,
            "counts": counts,
            "checks": [v.to_json() for v in self.verdicts],
            "plan": self.plan,
        }
