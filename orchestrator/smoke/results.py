"""Values a smoke run produces: one `CheckResult` per check and the `SmokeReport` that holds them.

Plain frozen dataclasses so the renderers (table, JSON, JUnit) and the tests compare them with `==`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["CheckResult", "CheckStatus", "SmokeReport"]


class CheckStatus(StrEnum):
    """Outcome of one check. `SKIP` means the check does not apply (e.g. no API key configured)."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    """One check: its short `name` (JUnit test name), what it asserts (`title`), outcome, time and why."""

    name: str
    title: str
    status: CheckStatus
    duration_s: float
    detail: str

    @property
    def passed(self) -> bool:
        return self.status is CheckStatus.PASS


@dataclass(frozen=True)
class SmokeReport:
    """All checks run against one endpoint; `ok` is what the CLI turns into exit code 0."""

    url: str
    started_at: str
    """UTC ISO-8601 time the run began (JUnit `timestamp`)."""
    results: tuple[CheckResult, ...] = field(default_factory=tuple)
    engine: str = "tgi"
    """The engine whose checks ran (`tgi`, `vllm`): JUnit names vLLM's `orchestrator-smoke.vllm`."""

    @property
    def ok(self) -> bool:
        """True when no check failed (skipped checks do not fail a run) and at least one ran."""
        return bool(self.results) and all(r.status is not CheckStatus.FAIL for r in self.results)

    @property
    def duration_s(self) -> float:
        return sum(r.duration_s for r in self.results)

    def count(self, status: CheckStatus) -> int:
        return sum(1 for r in self.results if r.status is status)
