"""A/B in one run: the figures of each endpoint side by side, and whether each difference is beyond noise.

Both endpoints got the same prompts and schedule at the same time (see `in_locust/runtime.Lane`), so what
differs is the servers. "Beyond noise" is judged per percentile with a bootstrap: resample each endpoint's
requests with replacement, take the percentile of each resample, and look at the spread of the differences
(B - A). When the central 95 % of those differences excludes zero, the difference is beyond what re-running the
same requests would plausibly give. The bootstrap is seeded, so a report is reproducible from its samples.
It says nothing about effects the run could not see (another time of day, other prompts): it is run-to-run noise
of these requests only. NumPy (a dependency of matplotlib, so of the `[load]` extra) does the resampling.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from orchestrator.load.figures import UNFINISHED, Figures, Sample, summarize

__all__ = ["COMPARED", "CONFIDENCE", "RESAMPLES", "bootstrap_difference", "compare_targets"]

RESAMPLES = 1000
CONFIDENCE = 0.95
COMPARED: dict[str, Callable[[Sample], float | None]] = {
    "ttft_s": lambda s: s.ttft,
    "itl_s": lambda s: s.itl,
    "tpot_s": lambda s: s.tpot,
    "e2e_s": lambda s: s.e2e,
}
"""Per-request figures compared, and how each is read off a sample."""
_QUANTILES = (50.0, 90.0, 99.0)


def bootstrap_difference(
    a: Sequence[float], b: Sequence[float], q: float, *, resamples: int = RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """The central `CONFIDENCE` interval of percentile_q(B*) - percentile_q(A*) over bootstrap resamples."""
    import numpy as np

    rng = np.random.default_rng(seed)
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diffs = np.empty(resamples)
    batch = max(1, 2_000_000 // max(len(xa), len(xb), 1))  # bound the memory of one batch of resamples
    for at in range(0, resamples, batch):
        n = min(batch, resamples - at)
        pa = np.percentile(xa[rng.integers(0, len(xa), (n, len(xa)))], q, axis=1)
        pb = np.percentile(xb[rng.integers(0, len(xb), (n, len(xb)))], q, axis=1)
        diffs[at : at + n] = pb - pa
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return float(low), float(high)


def _values(samples: Sequence[Sample], read: Callable[[Sample], float | None]) -> list[float]:
    return [v for v in (read(s) for s in samples if s.ok) if v is not None]


def _percentile(values: Sequence[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def compare_targets(
    samples: Sequence[Sample],
    *,
    hosts: tuple[str, str],
    window: tuple[float, float] | None = None,
    late_after: float = 0.010,
    seed: int = 0,
) -> dict[str, Any]:
    """The `ab` section of an A/B run's summary: each endpoint's figures and every compared percentile."""
    finished = [s for s in samples if s.error_type != UNFINISHED]
    groups = {t: [s for s in samples if s.target == t] for t in ("a", "b")}
    figures: dict[str, Figures] = {
        t: summarize(group, late_after=late_after, window=window) for t, group in groups.items()
    }
    rows = []
    for name, read in COMPARED.items():
        a = _values([s for s in finished if s.target == "a"], read)
        b = _values([s for s in finished if s.target == "b"], read)
        for q in _QUANTILES:
            row: dict[str, Any] = {"figure": name, "percentile": f"p{q:g}", "a": None, "b": None}
            if a and b:
                pa, pb = _percentile(a, q), _percentile(b, q)
                low, high = bootstrap_difference(a, b, q, seed=seed)
                row.update(
                    a=pa,
                    b=pb,
                    difference=pb - pa,
                    relative=(pb - pa) / pa if pa else None,
                    ci_low=low,
                    ci_high=high,
                    beyond_noise=low > 0 or high < 0,
                )
            rows.append(row)
    fa, fb = figures["a"], figures["b"]
    return {
        "hosts": {"a": hosts[0], "b": hosts[1]},
        "figures": {t: f.to_dict() for t, f in figures.items()},
        "throughput": {
            key: {"a": getattr(fa, key), "b": getattr(fb, key)}
            for key in ("request_rate", "output_tokens_per_s", "error_rate", "succeeded", "failed")
        },
        "differences": rows,
        "method": (
            f"difference = B - A of each exact percentile; {CONFIDENCE:.0%} bootstrap interval of that difference "
            f"over {RESAMPLES} resamples of each endpoint's requests (seeded); beyond_noise when the interval "
            "excludes 0. Both endpoints got the same prompts and schedule at the same time."
        ),
    }
