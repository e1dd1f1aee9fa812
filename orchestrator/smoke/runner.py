"""Runs the checks in order against one endpoint, timing each and turning every outcome into a `CheckResult`.

No check can stop the run: a transport error or timeout fails that check only, and an unexpected exception in a
check is reported as that check's failure (with its type) rather than crashing CI.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from orchestrator.smoke.checks import CHECKS, Check, CheckContext, CheckFailed, CheckSkipped, Expectations
from orchestrator.smoke.http import SmokeHttp, SmokeTimeout, SmokeTransportError
from orchestrator.smoke.results import CheckResult, CheckStatus, SmokeReport

__all__ = ["DEFAULT_TIMEOUT", "run_check", "run_smoke"]

DEFAULT_TIMEOUT = 30.0
"""Seconds each request (or whole stream) may take; generous for 8 tokens on a GPU, short enough for CI."""


def run_check(check: Check, ctx: CheckContext, clock: Callable[[], float] = time.perf_counter) -> CheckResult:
    """Run one check; never raises for anything the server does."""
    start = clock()
    try:
        detail = check.run(ctx)
        status = CheckStatus.PASS
    except CheckSkipped as exc:
        status, detail = CheckStatus.SKIP, str(exc)
    except CheckFailed as exc:
        status, detail = CheckStatus.FAIL, str(exc)
    except SmokeTimeout as exc:
        status, detail = CheckStatus.FAIL, f"timed out: {exc}"
    except SmokeTransportError as exc:
        status, detail = CheckStatus.FAIL, f"no HTTP answer: {exc}"
    except Exception as exc:  # a malformed answer the check did not foresee is still the server's failure
        status, detail = CheckStatus.FAIL, f"unexpected {type(exc).__name__}: {exc}"
    return CheckResult(check.name, check.title, status, clock() - start, detail)


def run_smoke(
    http: SmokeHttp,
    expect: Expectations,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    checks: Sequence[Check] = CHECKS,
    clock: Callable[[], float] = time.perf_counter,
    engine: str = "tgi",
) -> SmokeReport:
    """Run `checks` (those of `engine`) in order against `http` and collect a report."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    ctx = CheckContext(http=http, expect=expect, timeout=timeout)
    results = tuple(run_check(check, ctx, clock) for check in checks)
    return SmokeReport(url=http.url, started_at=started, results=results, engine=engine)
