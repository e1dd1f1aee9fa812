"""The run's verdict and exit code, in one place for Locust's process and `orchestrator load` alike.

Checked in this order, the first that applies giving the exit code:

- 130: interrupted (Ctrl-C, SIGTERM): the report covers what finished before the stop;
- 7: the requests themselves failed: none succeeded (a dead URL, a wrong key, every request timing out or still
  in flight), or more than `--max-error-rate` of the completed ones failed. SLOs or not: a run whose requests
  fail measured nothing about the server's latency;
- 5: an SLO was missed;
- 0: otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from orchestrator.load.figures import Figures

__all__ = [
    "DEFAULT_MAX_ERROR_RATE",
    "INTERRUPTED_EXIT_CODE",
    "REQUESTS_FAILED_EXIT_CODE",
    "SLO_EXIT_CODE",
    "Outcome",
    "judge",
]

SLO_EXIT_CODE = 5
REQUESTS_FAILED_EXIT_CODE = 7
INTERRUPTED_EXIT_CODE = 130

DEFAULT_MAX_ERROR_RATE = 0.05
"""Share of completed requests that may fail before the run fails (exit 7), SLOs or not. A healthy TGI answers
every request of a load test; 5 % is far above the odd transient error (a reset, a brief 429 burst that the
client retries) and far below what a wrong URL, key, route or prompt length gives (every request failing)."""


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    interrupted: bool
    requests_passed: bool
    slo_passed: bool
    max_error_rate: float
    problems: list[str] = field(default_factory=list)
    """what failed, in words, loud: printed in red by `orchestrator load`, logged as errors by Locust"""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _top_errors(fig: Figures, limit: int = 3) -> str:
    return ", ".join(f"{key} x{count}" for key, count in list(fig.errors.items())[:limit])


def request_problems(fig: Figures, max_error_rate: float) -> list[str]:
    """Why the requests of a run count as failed; empty when they do not."""
    if fig.succeeded == 0:
        if fig.failed:
            return [
                f"every request failed ({fig.failed} of {fig.requests}: {_top_errors(fig)}); "
                "is the server up at that URL, with this API key, and does it accept these prompts?"
            ]
        if fig.unfinished:
            return [
                f"no request completed: {fig.unfinished} were still in flight at the stop (the server is not "
                "answering, or the run is shorter than one request: raise --duration or lower --output-tokens)"
            ]
        return ["no request was sent (every slot dropped, or the run stopped before the first send)"]
    if fig.error_rate > max_error_rate:
        return [
            f"{fig.error_rate:.1%} of requests failed ({fig.failed} of {fig.requests}: {_top_errors(fig)}), "
            f"above --max-error-rate {max_error_rate:.1%}"
        ]
    return []


def judge(fig: Figures, *, max_error_rate: float, slo_passed: bool, interrupted: bool) -> Outcome:
    """The verdict for the figures over all requests of a run."""
    problems = request_problems(fig, max_error_rate)
    if interrupted:
        code = INTERRUPTED_EXIT_CODE
    elif problems:
        code = REQUESTS_FAILED_EXIT_CODE
    elif not slo_passed:
        code = SLO_EXIT_CODE
    else:
        code = 0
    return Outcome(code, interrupted, not problems, slo_passed, max_error_rate, problems)
