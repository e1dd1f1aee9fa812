"""The server's /metrics, differenced over a run."""

from __future__ import annotations

import pytest

from orchestrator.load.server_metrics import diff_metrics, parse_prometheus

BEFORE = """# HELP tgi_request_queue_duration x
tgi_request_queue_duration_bucket{le="0.01"} 10
tgi_request_queue_duration_bucket{le="0.1"} 10
tgi_request_queue_duration_bucket{le="+Inf"} 10
tgi_request_queue_duration_sum 0.05
tgi_request_queue_duration_count 10
tgi_request_failure{err="overloaded"} 1
tgi_request_count 11
"""
AFTER = """tgi_request_queue_duration_bucket{le="0.01"} 20
tgi_request_queue_duration_bucket{le="0.1"} 110
tgi_request_queue_duration_bucket{le="+Inf"} 110
tgi_request_queue_duration_sum 5.05
tgi_request_queue_duration_count 110
tgi_request_failure{err="overloaded"} 4
tgi_request_failure{err="validation"} 2
tgi_request_count 120
junk line
"""


def test_diff_gives_means_approx_quantiles_and_failures() -> None:
    out = diff_metrics(parse_prometheus(BEFORE), parse_prometheus(AFTER))
    queue = out["histograms"]["tgi_request_queue_duration"]
    assert queue["count"] == 100
    assert queue["mean"] == pytest.approx(0.05)
    # 10 of 100 below 10 ms, 90 in (10 ms, 100 ms]: the median lies 40/90 of the way into that bucket
    assert queue["p50_approx"] == pytest.approx(0.01 + 0.09 * 40 / 90)
    assert out["failures"] == {"overloaded": 3, "validation": 2}
    assert out["counters"]["tgi_request_count"] == 109
    assert "tgi_request_duration" not in out["histograms"]  # absent series are left out, not zero
