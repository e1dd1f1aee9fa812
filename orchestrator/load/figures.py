"""Per-request samples and the figures computed from them, exactly (no bucketing).

Locust rounds stored response times into buckets (147 ms -> 150 ms), which is too coarse for time-to-first-token
and inter-token latency. Every request therefore leaves one exact `Sample`; every percentile in our reports is
computed from the full list of samples with linear interpolation between closest ranks (NumPy's default, the
method vLLM's `benchmark_serving` uses). Pure code: no I/O, no Locust, so workers, master and CLI share it.

Definitions (times in seconds, measured with a monotonic clock from the request's start):

- start: the scheduled send time in open-loop runs (so queueing inside the load generator counts, no coordinated
  omission), else the moment just before the request is written.
- TTFT: arrival of the first event that carries a token.
- ITL (per request): (last token time - first token time) / (token events - 1); TTFT excluded; needs >= 2 tokens.
- TPOT (per request): (e2e - TTFT) / (output tokens - 1), the time per output token after the first one.
- e2e: until the response is complete (last byte of a JSON body; final event or `[DONE]` of a stream).
- output tokens/s per request: output tokens / e2e. Overall: sum of output tokens / measured window.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = [
    "DEFINITIONS",
    "PERCENTILES",
    "UNFINISHED",
    "Distribution",
    "Figures",
    "Sample",
    "describe",
    "percentile",
    "summarize",
    "summarize_by_scenario",
]

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0)

UNFINISHED = "unfinished"
"""`error_type` of a request still in flight when the run ended: not an error, not in the latency figures."""

DEFINITIONS: dict[str, str] = {
    "start": "scheduled send time (open loop) or the moment before the request is written (closed loop)",
    "ttft_s": "time from start to the arrival of the first event carrying a token (streams only)",
    "itl_s": "per request: (last token time - first token time) / (token events - 1); TTFT excluded",
    "tpot_s": "per request: (e2e - TTFT) / (output tokens - 1); non-streamed: e2e / output tokens",
    "e2e_s": "time from start to the complete response (last body byte, final event or [DONE])",
    "send_delay_s": "actual send time - scheduled send time (open loop); late when above the lateness limit",
    "output_tokens": "server count (details.generated_tokens or usage.completion_tokens), else token events",
    "tokens_per_s_request": "per request: output tokens / e2e",
    "output_tokens_per_s": "overall: sum of output tokens of successful requests / measured window",
    "request_rate": "successful requests / window",
    "window_s": "the run's window: from its start (the first scheduled send in open loop, the test start in closed "
    "loop) to the stop (run time over, --requests answered, or interrupted); without one, first start to last end",
    "send_rate": "(sends - 1) / (last actual send - first actual send)",
    "early_stops": "requests that finished before their max_new_tokens target (finish reason not length)",
    "unfinished": "requests still in flight when the run ended; not errors, not in the latency figures; for SLO "
    "checks on TTFT and e2e their elapsed time counts as a lower bound",
    "percentiles": "exact, from every sample, linear interpolation between closest ranks (numpy default)",
}


@dataclass(slots=True)
class Sample:
    """One request, exactly as measured. Times are seconds; `*_at` are wall-clock epoch seconds."""

    scenario: str
    ok: bool
    start_at: float
    e2e: float
    sent_at: float = 0.0
    send_delay: float = 0.0
    ttft: float | None = None
    last_token: float | None = None
    token_events: int = 0
    output_tokens: int | None = None
    input_tokens: int | None = None
    expected_input_tokens: int | None = None
    target_tokens: int | None = None
    finish_reason: str | None = None
    status: int = 0
    error_type: str | None = None
    worker: int = 0
    retries: int = 0
    prompt_id: int | None = None  # the synthetic prompt's request number, to match server-side logs
    turn: int | None = None  # multi-turn sessions: the turn's index in its conversation (1 = the first)
    target: str = ""
    """Which endpoint of an A/B run ("a" or "b"); "" in an ordinary run. Last, so older rows still read."""

    @property
    def tokens(self) -> int:
        """Output tokens: the server's count when it gave one, else the token events seen."""
        return self.output_tokens if self.output_tokens is not None else self.token_events

    @property
    def itl(self) -> float | None:
        if self.ttft is None or self.last_token is None or self.token_events < 2:
            return None
        return (self.last_token - self.ttft) / (self.token_events - 1)

    @property
    def tpot(self) -> float | None:
        if not self.ok:
            return None
        if self.ttft is None:
            return self.e2e / self.tokens if self.tokens > 0 else None
        return (self.e2e - self.ttft) / (self.tokens - 1) if self.tokens > 1 else None

    @property
    def early_stop(self) -> bool:
        return (
            self.ok
            and self.target_tokens is not None
            and self.finish_reason is not None
            and self.finish_reason != "length"
        )

    def to_row(self) -> list[Any]:
        """Compact positional form for worker -> master messages and JSONL files."""
        return [getattr(self, f.name) for f in fields(self)]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Sample:
        return cls(*row)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of already sorted values, linear interpolation (numpy's default)."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} is outside 0..100")
    rank = (len(sorted_values) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = rank - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


@dataclass(frozen=True, slots=True)
class Distribution:
    """Count, mean, spread and exact percentiles of one figure."""

    count: int
    mean: float
    std: float
    min: float
    max: float
    percentiles: dict[str, float]

    def p(self, q: float) -> float:
        return self.percentiles[_pkey(q)]


def _pkey(q: float) -> str:
    return f"p{q:g}"


def describe(values: Iterable[float], percentiles: Sequence[float] = PERCENTILES) -> Distribution | None:
    data = sorted(values)
    if not data:
        return None
    n = len(data)
    mean = math.fsum(data) / n
    var = math.fsum((v - mean) ** 2 for v in data) / n
    return Distribution(
        count=n,
        mean=mean,
        std=math.sqrt(var),
        min=data[0],
        max=data[-1],
        percentiles={_pkey(q): percentile(data, q) for q in percentiles},
    )


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything the report says about a set of samples (one scenario or all)."""

    requests: int
    succeeded: int
    failed: int
    error_rate: float
    errors: dict[str, int]
    early_stops: int
    window_s: float
    request_rate: float
    send_rate: float | None
    output_tokens: int
    output_tokens_per_s: float
    late_sends: int
    token_events_mismatches: int
    ttft_s: Distribution | None
    itl_s: Distribution | None
    tpot_s: Distribution | None
    e2e_s: Distribution | None
    send_delay_s: Distribution | None
    tokens_per_s_request: Distribution | None
    output_tokens_dist: Distribution | None
    input_tokens_dist: Distribution | None
    input_token_mismatches: int = 0
    unfinished: int = 0
    ttft_s_bound: Distribution | None = None
    e2e_s_bound: Distribution | None = None
    retries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def error_key(sample: Sample) -> str:
    """`<status>:<error_type>`, e.g. `429:overloaded`, `200:generation` (in-stream), `0:ConnectionRefused`."""
    return f"{sample.status}:{sample.error_type or 'unknown'}"


def summarize(
    samples: Sequence[Sample],
    *,
    late_after: float = 0.010,
    extra_percentiles: Sequence[float] = (),
    window: tuple[float, float] | None = None,
) -> Figures:
    """Figures for `samples`; requests sent more than `late_after` seconds after their slot count as late.
    `window` (start, stop; wall clock) is the run's, over which rates are taken."""
    qs = tuple(sorted(set(PERCENTILES) | set(extra_percentiles)))
    unfinished = [s for s in samples if s.error_type == UNFINISHED]
    if unfinished:
        samples = [s for s in samples if s.error_type != UNFINISHED]
    ok = [s for s in samples if s.ok]
    failed = [s for s in samples if not s.ok]
    if window is not None:
        span = max(window[1] - window[0], 1e-9)
    elif samples:
        span = max(max(s.start_at + s.e2e for s in samples) - min(s.start_at for s in samples), 1e-9)
    else:
        span = 0.0
    sends = sorted(s.sent_at for s in samples if s.sent_at)
    send_rate = (len(sends) - 1) / (sends[-1] - sends[0]) if len(sends) > 1 and sends[-1] > sends[0] else None
    total_tokens = sum(s.tokens for s in ok)
    mismatches = sum(
        1
        for s in ok
        if s.ttft is not None and s.output_tokens is not None and s.output_tokens != s.token_events
    )
    input_mismatches = sum(
        1
        for s in ok
        if s.input_tokens is not None
        and s.expected_input_tokens is not None
        and s.input_tokens != s.expected_input_tokens
    )
    return Figures(
        requests=len(samples),
        succeeded=len(ok),
        failed=len(failed),
        error_rate=len(failed) / len(samples) if samples else 0.0,
        errors=dict(Counter(error_key(s) for s in failed).most_common()),
        early_stops=sum(1 for s in ok if s.early_stop),
        window_s=span,
        request_rate=len(ok) / span if span else 0.0,
        send_rate=send_rate,
        output_tokens=total_tokens,
        output_tokens_per_s=total_tokens / span if span else 0.0,
        late_sends=sum(1 for s in samples if s.send_delay > late_after),
        token_events_mismatches=mismatches,
        ttft_s=describe((s.ttft for s in ok if s.ttft is not None), qs),
        itl_s=describe((v for v in (s.itl for s in ok) if v is not None), qs),
        tpot_s=describe((v for v in (s.tpot for s in ok) if v is not None), qs),
        e2e_s=describe((s.e2e for s in ok), qs),
        send_delay_s=describe(s.send_delay for s in samples if s.sent_at),
        tokens_per_s_request=describe(s.tokens / s.e2e for s in ok if s.e2e > 0),
        output_tokens_dist=describe(float(s.tokens) for s in ok),
        input_tokens_dist=describe(float(s.input_tokens) for s in ok if s.input_tokens is not None),
        input_token_mismatches=input_mismatches,
        retries=sum(s.retries for s in samples),
        unfinished=len(unfinished),
        # with requests still in flight at the end, their elapsed time is a lower bound of their TTFT (when no
        # token came yet) and e2e: percentiles over finished + those bounds are lower bounds of the true ones
        ttft_s_bound=describe(
            [s.ttft for s in ok if s.ttft is not None]
            + [u.ttft if u.ttft is not None else u.e2e for u in unfinished],
            qs,
        )
        if unfinished
        else None,
        e2e_s_bound=describe([s.e2e for s in ok] + [u.e2e for u in unfinished], qs) if unfinished else None,
    )


def summarize_by_scenario(
    samples: Sequence[Sample],
    *,
    late_after: float = 0.010,
    extra_percentiles: Sequence[float] = (),
    window: tuple[float, float] | None = None,
) -> dict[str, Figures]:
    """`{"all": ..., "<scenario>": ...}`, every one over the same run window."""
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.scenario, []).append(s)
    kw: dict[str, Any] = {"late_after": late_after, "extra_percentiles": extra_percentiles, "window": window}
    out = {"all": summarize(samples, **kw)}
    for name in sorted(groups):
        out[name] = summarize(groups[name], **kw)
    return out
