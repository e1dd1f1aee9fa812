"""Service-level objectives: thresholds on latency percentiles and the error rate, and the verdict.

A threshold key is `<figure>_p<percentile>` for `ttft`, `itl`, `tpot` and `e2e` (values in milliseconds; `250ms`
and `0.25s` are accepted too) or `error_rate` (a fraction, `1%` accepted). They come from options
(`--slo ttft_p50=200ms`, `--slo-ttft-p50 200`) or a TOML/JSON file whose `[slo]` table (or top level) holds
`ttft_p50 = 200`. A threshold whose figure has no samples (e.g. TTFT of non-streamed requests) is *missed*: a gate
that cannot be checked must not pass.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.load.figures import Figures, Sample

__all__ = ["SloCheck", "SloError", "SloSet", "evaluate", "load_slo_file", "parse_slo_items"]

_KEY = re.compile(r"^(ttft|itl|tpot|e2e)_p(\d+(?:\.\d+)?)$")


class SloError(ValueError):
    """An SLO option or file that cannot be used."""


@dataclass(frozen=True, slots=True)
class SloSet:
    """Latency thresholds in seconds by (figure, percentile), and an optional error-rate ceiling."""

    latency: tuple[tuple[str, float, float], ...] = ()
    error_rate: float | None = None

    def __bool__(self) -> bool:
        return bool(self.latency) or self.error_rate is not None

    def merged(self, other: SloSet) -> SloSet:
        """`other` wins for keys both define."""
        keys = {(f, q) for f, q, _ in other.latency}
        latency = tuple(x for x in self.latency if (x[0], x[1]) not in keys) + other.latency
        return SloSet(latency, other.error_rate if other.error_rate is not None else self.error_rate)

    def percentiles(self) -> tuple[float, ...]:
        """Percentiles the figures must include for this set to be checked."""
        return tuple(sorted({q for _, q, _ in self.latency}))

    def to_dict(self) -> dict[str, float]:
        out = {f"{f}_p{q:g}_ms": v * 1000 for f, q, v in self.latency}
        if self.error_rate is not None:
            out["error_rate"] = self.error_rate
        return out

    def request_ok(self, sample: Sample) -> bool:
        """Per-request check for goodput: the request succeeded and each of its figures is within every limit."""
        if not sample.ok:
            return False
        values = {"ttft": sample.ttft, "itl": sample.itl, "tpot": sample.tpot, "e2e": sample.e2e}
        return all(values[f] is None or values[f] <= limit for f, _, limit in self.latency)  # type: ignore[operator]


def _parse_ms(key: str, value: Any, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000.0
    text = str(value).strip().lower()
    try:
        if text.endswith("ms"):
            return float(text[:-2]) / 1000.0
        if text.endswith("s"):
            return float(text[:-1])
        return float(text) / 1000.0
    except ValueError:
        raise SloError(
            f"{where} {key}={value!r}: not a duration; use milliseconds like 200, 200ms or 0.2s"
        ) from None


def _parse_rate(value: Any, where: str) -> float:
    text = str(value).strip()
    try:
        rate = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        raise SloError(
            f"{where} error_rate={value!r}: use a fraction like 0.01 or a percentage like 1%"
        ) from None
    if not 0.0 <= rate <= 1.0:
        raise SloError(f"{where} error_rate={value!r}: must be between 0 and 1 (or 0% and 100%)")
    return rate


def _build(items: Iterable[tuple[str, Any]], where: str) -> SloSet:
    latency: list[tuple[str, float, float]] = []
    error_rate: float | None = None
    for raw_key, value in items:
        key = raw_key.strip().lower().replace("-", "_").removesuffix("_ms")
        if key == "error_rate":
            error_rate = _parse_rate(value, where)
            continue
        m = _KEY.match(key)
        if not m or not 0 < float(m.group(2)) <= 100:
            raise SloError(
                f"{where} {raw_key!r} is not a known SLO; use ttft_pNN, itl_pNN, tpot_pNN, e2e_pNN or error_rate"
            )
        limit = _parse_ms(raw_key, value, where)
        if limit <= 0:
            raise SloError(f"{where} {raw_key}={value!r}: must be above 0")
        latency.append((m.group(1), float(m.group(2)), limit))
    return SloSet(tuple(latency), error_rate)


def parse_slo_items(items: Iterable[str]) -> SloSet:
    """`["ttft_p50=200ms", "error_rate=1%"]` from repeated `--slo` options."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SloError(f"--slo {item!r}: write KEY=VALUE, e.g. --slo ttft_p50=200ms")
        pairs.append((key, value))
    return _build(pairs, "--slo")


def load_slo_file(path: Path) -> SloSet:
    where = f"--slo-file {str(path)!r}:"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SloError(f"{where} cannot be read ({exc}); pass an existing TOML or JSON file") from exc
    try:
        data: Any = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise SloError(
            f"{where} is not valid {'JSON' if path.suffix == '.json' else 'TOML'} ({exc})"
        ) from exc
    if isinstance(data, Mapping) and isinstance(data.get("slo"), Mapping):
        data = data["slo"]
    if not isinstance(data, Mapping) or not data:
        raise SloError(f"{where} holds no thresholds; write e.g. [slo] ttft_p50 = 200")
    return _build(data.items(), where)


@dataclass(frozen=True, slots=True)
class SloCheck:
    key: str
    limit: float
    actual: float | None
    passed: bool
    unit: str

    def describe(self) -> str:
        def fmt(v: float) -> str:
            return f"{v * 1000:.2f} ms" if self.unit == "s" else f"{v:.2%}"

        if self.unit == "count":
            return f"no request completed ({self.key}: {self.actual:g})"
        if self.actual is None:
            return f"{self.key} has no samples (limit {fmt(self.limit)})"
        op = "<=" if self.passed else ">"
        return f"{self.key} {fmt(self.actual)} {op} {fmt(self.limit)}"


def evaluate(slo: SloSet, figures: Figures) -> tuple[bool, list[SloCheck], str]:
    """(passed, checks, one-line verdict)."""
    checks: list[SloCheck] = []
    for figure, q, limit in slo.latency:
        # with unfinished requests, TTFT and e2e are checked on finished + their lower bounds (see figures.py)
        bound = getattr(figures, f"{figure}_s_bound", None)
        dist = bound if bound is not None else getattr(figures, f"{figure}_s")
        actual = dist.percentiles.get(f"p{q:g}") if dist is not None else None
        checks.append(
            SloCheck(f"{figure} p{q:g}", limit, actual, actual is not None and actual <= limit, "s")
        )
    if slo.error_rate is not None:
        checks.append(
            SloCheck(
                "error rate", slo.error_rate, figures.error_rate, figures.error_rate <= slo.error_rate, ""
            )
        )
    if figures.requests == 0 and checks:
        checks.append(SloCheck("completed requests", 1, 0, False, "count"))
    passed = all(c.passed for c in checks)
    missed = [c for c in checks if not c.passed]
    if not checks:
        return True, checks, "SLO: none set"
    if passed:
        return True, checks, "SLO PASS: " + "; ".join(c.describe() for c in checks)
    return (
        False,
        checks,
        f"SLO FAIL ({len(missed)} of {len(checks)} missed): " + "; ".join(c.describe() for c in missed),
    )
