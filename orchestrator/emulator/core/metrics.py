"""A Prometheus registry rendered in the text exposition format, as metrics-exporter-prometheus writes it.

Counters carry no `_total` suffix (unless the front-end asks for prometheus_client's, as vLLM's), histograms are `_bucket/_sum/_count`, and a series only appears once it has been
touched. Histograms use 35 geometric buckets from 0.00015 s, factor 1.5, unless the front-end names other buckets
for a series (TGI's token counts: `tgi/metrics.py`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence

__all__ = ["DURATION_BUCKETS", "Metrics"]

DURATION_BUCKETS: tuple[float, ...] = tuple(0.00015 * 1.5**i for i in range(35))

_Labels = tuple[tuple[str, str], ...]


class _Histogram:
    __slots__ = ("buckets", "count", "counts", "sum")

    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * len(self.buckets)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        index = bisect_left(self.buckets, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.count += 1
        self.sum += value


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(labels: _Labels, extra: str = "") -> str:
    parts = [f'{k}="{v}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class Metrics:
    """The registry: counters, gauges and histograms keyed by (name, labels)."""

    def __init__(
        self, bucket_sets: Mapping[str, tuple[float, ...]] | None = None, *, counter_suffix: str = ""
    ) -> None:
        self.counter_suffix = (
            counter_suffix  # prometheus_client (vLLM) writes counter samples as `<name>_total`
        )
        self.counters: dict[tuple[str, _Labels], float] = {}
        self.gauges: dict[tuple[str, _Labels], float] = {}
        self.histograms: dict[tuple[str, _Labels], _Histogram] = {}
        self._bucket_sets = dict(bucket_sets or {})  # histogram name -> its buckets, else DURATION_BUCKETS

    def inc(self, name: str, value: float = 1.0, labels: _Labels = ()) -> None:
        key = (name, labels)
        self.counters[key] = self.counters.get(key, 0.0) + value

    def set(self, name: str, value: float, labels: _Labels = ()) -> None:
        self.gauges[(name, labels)] = value

    def observe(self, name: str, value: float, labels: _Labels = ()) -> None:
        key = (name, labels)
        histogram = self.histograms.get(key)
        if histogram is None:
            histogram = _Histogram(self._bucket_sets.get(name, DURATION_BUCKETS))
            self.histograms[key] = histogram
        histogram.observe(value)

    def render(self) -> str:
        lines: list[str] = []
        for kind, store, suffix in (
            ("counter", self.counters, self.counter_suffix),
            ("gauge", self.gauges, ""),
        ):
            seen: set[str] = set()
            for (name, labels), value in sorted(store.items()):
                if name not in seen:
                    lines.append(f"# TYPE {name} {kind}")
                    seen.add(name)
                lines.append(f"{name}{suffix}{_labels(labels)} {_fmt(value)}")
        seen_h: set[str] = set()
        for (name, labels), hist in sorted(self.histograms.items()):
            if name not in seen_h:
                lines.append(f"# TYPE {name} histogram")
                seen_h.add(name)
            cumulative = 0
            for bound, count in zip(hist.buckets, hist.counts, strict=True):
                cumulative += count
                le = 'le="' + _fmt(bound) + '"'
                lines.append(f"{name}_bucket{_labels(labels, le)} {cumulative}")
            lines.append(f"{name}_bucket{_labels(labels, 'le=' + chr(34) + '+Inf' + chr(34))} {hist.count}")
            lines.append(f"{name}_sum{_labels(labels)} {_fmt(hist.sum)}")
            lines.append(f"{name}_count{_labels(labels)} {hist.count}")
        return "\n".join(lines) + "\n"
