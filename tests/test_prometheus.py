"""The one Prometheus text parser: series with labels, gauges absent until first use."""

from __future__ import annotations

from orchestrator.formats.prometheus import gauge, parse_prometheus, value

TEXT = """# TYPE tgi_queue_size gauge
tgi_queue_size 3
tgi_request_failure{err="validation"} 2
tgi_request_failure{err="overloaded"} 5
tgi_request_duration_bucket{le="0.1"} 7
junk line
"""


def test_parse_and_read() -> None:
    series = parse_prometheus(TEXT)
    assert gauge(series, "tgi_queue_size") == 3
    assert gauge(series, "tgi_batch_current_size") is None
    assert value(series, "tgi_request_failure") == 7
    assert value(series, "tgi_request_failure", err="overloaded") == 5
    assert value(series, "tgi_request_duration_bucket", le="0.1") == 7
