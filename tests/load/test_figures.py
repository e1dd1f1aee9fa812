"""Exact figures from samples: percentiles, ITL/TPOT definitions, rates, errors, early stops."""

from __future__ import annotations

import random

import pytest

from orchestrator.load.figures import Sample, describe, percentile, summarize, summarize_by_scenario


def stream_sample(start: float, ttft: float, itl: float, tokens: int, **kw: object) -> Sample:
    return Sample(
        scenario=str(kw.pop("scenario", "stream")),
        ok=True,
        start_at=start,
        e2e=ttft + itl * (tokens - 1),
        ttft=ttft,
        last_token=ttft + itl * (tokens - 1),
        token_events=tokens,
        output_tokens=tokens,
        **kw,  # type: ignore[arg-type]
    )


def test_percentile_matches_numpy_linear_method() -> None:
    values = sorted(random.Random(3).uniform(0, 1) for _ in range(101))
    # numpy.percentile(values, q) with the default "linear" method, computed by hand
    assert percentile(values, 50) == values[50]
    assert percentile(values, 0) == values[0]
    assert percentile(values, 100) == values[-1]
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([10.0, 20.0], 90) == pytest.approx(19.0)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_describe_is_exact_not_bucketed() -> None:
    dist = describe([0.147, 0.1471, 0.1472])
    assert dist is not None
    assert dist.p(50) == pytest.approx(0.1471)  # Locust would report 150 ms
    assert dist.count == 3


def test_itl_excludes_ttft_and_tpot_definition() -> None:
    s = stream_sample(0.0, ttft=0.200, itl=0.010, tokens=11)
    assert s.itl == pytest.approx(0.010)
    assert s.tpot == pytest.approx(0.010)  # (e2e - ttft) / (tokens - 1)
    one = stream_sample(0.0, ttft=0.2, itl=0.0, tokens=1)
    assert one.itl is None and one.tpot is None


def test_non_streamed_tpot_is_e2e_per_token() -> None:
    s = Sample("generate", True, 0.0, e2e=1.0, output_tokens=50)
    assert s.ttft is None and s.itl is None
    assert s.tpot == pytest.approx(0.02)


def test_summary_rates_errors_and_early_stops() -> None:
    samples = [
        stream_sample(float(i), 0.1, 0.01, 10, target_tokens=10, finish_reason="length") for i in range(10)
    ]
    samples.append(stream_sample(10.0, 0.1, 0.01, 5, target_tokens=10, finish_reason="eos_token"))
    samples.append(Sample("stream", False, 3.0, e2e=0.01, status=429, error_type="overloaded"))
    samples.append(Sample("stream", False, 4.0, e2e=0.5, status=200, error_type="generation"))
    fig = summarize(samples)
    assert fig.requests == 13 and fig.succeeded == 11 and fig.failed == 2
    assert fig.errors == {"429:overloaded": 1, "200:generation": 1}
    assert fig.early_stops == 1
    assert fig.output_tokens == 105
    window = 10.0 + 0.1 + 0.04  # first start 0 -> last end
    assert fig.window_s == pytest.approx(window)
    assert fig.request_rate == pytest.approx(11 / window)
    assert fig.output_tokens_per_s == pytest.approx(105 / window)
    assert fig.ttft_s is not None and fig.ttft_s.p(50) == pytest.approx(0.1)
    assert fig.error_rate == pytest.approx(2 / 13)


def test_token_mismatch_counted() -> None:
    s = stream_sample(0.0, 0.1, 0.01, 10)
    s.output_tokens = 11
    assert summarize([s]).token_events_mismatches == 1


def test_send_rate_from_actual_sends_and_late_sends() -> None:
    samples = [
        Sample("stream", True, i * 0.1, e2e=0.05, sent_at=i * 0.1 + 0.001, send_delay=0.001)
        for i in range(11)
    ]
    samples[3].send_delay = 0.5
    fig = summarize(samples, late_after=0.01)
    assert fig.send_rate == pytest.approx(10.0)
    assert fig.late_sends == 1


def test_by_scenario_and_extra_percentiles() -> None:
    samples = [
        stream_sample(0, 0.1 * (i + 1), 0.01, 3, scenario="stream" if i % 2 else "chat") for i in range(10)
    ]
    by = summarize_by_scenario(samples, extra_percentiles=(75,))
    assert set(by) == {"all", "chat", "stream"}
    assert by["all"].requests == 10 and by["chat"].requests == 5
    assert by["all"].ttft_s is not None and "p75" in by["all"].ttft_s.percentiles


def test_row_round_trip() -> None:
    s = stream_sample(1.5, 0.1, 0.01, 4, target_tokens=4, finish_reason="length")
    assert Sample.from_row(s.to_row()) == s


def test_token_rate_spreads_tokens_over_decode_time() -> None:
    from orchestrator.load.plots import rolling_percentiles, token_rate

    # 100 tokens decoded from t=1 to t=3 (TTFT 1 s): 50 tokens/s in each of the two middle seconds
    s = Sample("stream", True, 0.0, e2e=3.0, ttft=1.0, last_token=3.0, token_events=100, output_tokens=100)
    assert token_rate([s], [0.0, 1.0, 2.0, 3.0, 4.0]) == pytest.approx([0.0, 50.0, 50.0, 0.0])
    rolled = rolling_percentiles([(0.0, 1.0), (1.0, 3.0), (5.0, 9.0)], [0.5, 5.0, 8.0], 2.0, (50,))
    assert rolled[50][:2] == [2.0, 9.0] and rolled[50][2] != rolled[50][2]  # NaN where no sample


def test_unfinished_requests_are_counted_apart_and_bound_the_slo() -> None:
    from orchestrator.load.figures import UNFINISHED
    from orchestrator.load.slo import evaluate, parse_slo_items

    done = [stream_sample(float(i), 0.1, 0.01, 10) for i in range(3)]  # e2e 0.19 s
    stuck = [Sample("stream", False, 5.0, e2e=2.0, error_type=UNFINISHED) for _ in range(3)]
    fig = summarize(done + stuck)
    assert (fig.requests, fig.failed, fig.unfinished, fig.errors) == (3, 0, 3, {})
    assert fig.e2e_s is not None and fig.e2e_s.max == pytest.approx(
        0.19
    )  # the figures hold finished requests
    ok, _, verdict = evaluate(parse_slo_items(["e2e_p50=1000ms"]), fig)
    assert (
        not ok and "e2e p50 1095.00 ms > 1000.00 ms" in verdict
    )  # the gate counts the stuck ones (lower bounds)


def test_throughput_series_keeps_in_flight_requests_out_of_errors_and_has_no_false_drop_at_the_end() -> None:
    from orchestrator.load.figures import UNFINISHED
    from orchestrator.load.plots import bin_edges, throughput_series

    # steady state over a 10.4 s window: a request starts every 0.25 s and streams 20 tokens over 1 s (4
    # completions/s, 80 tokens/s); the four started in the last second are still in flight at the stop
    stop = 10.4
    samples = []
    for i in range(46):
        start = -1.0 + 0.25 * i
        if start + 1.0 <= stop:
            samples.append(Sample("stream", True, start, e2e=1.0, ttft=0.0, last_token=1.0, token_events=20,
                                  output_tokens=20))  # fmt: skip
        elif start < stop:
            elapsed = stop - start
            samples.append(Sample("stream", False, start, e2e=elapsed, ttft=0.0, token_events=round(20 * elapsed),
                                  error_type=UNFINISHED))  # fmt: skip
    series = throughput_series(samples, window=(0.0, stop))
    assert series.unfinished == 4
    assert series.errors_per_s == [0.0] * len(series.widths)  # the table says 0 errors: so does the plot
    assert series.edges[0] == 0.0 and series.edges[-1] == stop
    assert series.widths[-1] == pytest.approx(
        1.4
    )  # the 0.4 s remainder joins the last bin, scaled by its width
    assert series.completed_per_s[1:] == pytest.approx([4.0] * (len(series.widths) - 1), abs=0.3)
    # tokens of the streams still in flight count where they were received: no drop in the last bin either
    assert series.output_tokens_per_s == pytest.approx([80.0] * len(series.widths), rel=0.03)
    # a remainder of at least half a bin is a bin of its own, with its real width
    assert bin_edges(0.0, 10.6)[-2:] == [10.0, 10.6]
    assert bin_edges(0.0, 0.4) == [0.0, 0.4]
