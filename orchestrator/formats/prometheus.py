"""Reading Prometheus' text exposition (TGI's `/metrics`): one parser for `status`, load reports and anything else.

Counters carry no `_total` suffix in TGI; histograms come as `_bucket` / `_sum` / `_count` series.
"""

from __future__ import annotations

import re

__all__ = ["Series", "gauge", "parse_prometheus", "value"]

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse_prometheus(text: str) -> Series:
    """`{(name, sorted labels): value}` from the text exposition format (comments and junk lines skipped)."""
    out: Series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            continue
        labels = tuple(sorted(_LABEL.findall(m.group(3) or "")))
        try:
            out[(m.group(1), labels)] = float(m.group(4))
        except ValueError:
            continue
    return out


def value(series: Series, name: str, **labels: str) -> float:
    """Sum of every `name` series whose labels include `labels` (0.0 when none)."""
    want = set(labels.items())
    return sum(v for (n, lab), v in series.items() if n == name and want <= set(lab))


def gauge(series: Series, name: str) -> float | None:
    """The value of an unlabelled gauge such as `tgi_queue_size`, or None when the server has not exposed it yet."""
    values = [v for (n, _), v in series.items() if n == name]
    return values[0] if values else None
