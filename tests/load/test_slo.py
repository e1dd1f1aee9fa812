"""SLO thresholds from options and files, and the verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.load.figures import Sample, summarize
from orchestrator.load.slo import SloError, evaluate, load_slo_file, parse_slo_items


def samples(ttft: float, n: int = 20, failed: int = 0) -> list[Sample]:
    out = [
        Sample("stream", True, float(i), e2e=ttft + 0.09, ttft=ttft, last_token=ttft + 0.09, token_events=10)
        for i in range(n)
    ]
    out += [
        Sample("stream", False, 0.0, e2e=0.01, status=429, error_type="overloaded") for _ in range(failed)
    ]
    return out


def test_units_and_keys() -> None:
    slo = parse_slo_items(["ttft_p50=200ms", "itl_p99=0.05s", "e2e_p95=1500", "error_rate=1%"])
    assert set(slo.latency) == {("ttft", 50.0, 0.2), ("itl", 99.0, 0.05), ("e2e", 95.0, 1.5)}
    assert slo.error_rate == pytest.approx(0.01)
    assert slo.percentiles() == (50.0, 95.0, 99.0)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("ttft=200", "not a known SLO"),
        ("ttft_p50", "write KEY=VALUE"),
        ("ttft_p50=fast", "not a duration"),
        ("error_rate=2", "between 0 and 1"),
        ("ttft_p50=0", "must be above 0"),
    ],
)
def test_bad_items(item: str, message: str) -> None:
    with pytest.raises(SloError, match=message):
        parse_slo_items([item])


def test_verdict_pass_and_fail() -> None:
    slo = parse_slo_items(["ttft_p50=100ms", "error_rate=0.1"])
    ok, _, verdict = evaluate(slo, summarize(samples(0.05)))
    assert ok and verdict.startswith("SLO PASS") and "ttft p50 50.00 ms <= 100.00 ms" in verdict
    ok, checks, verdict = evaluate(slo, summarize(samples(0.15, failed=5)))
    assert not ok
    assert verdict.startswith("SLO FAIL (2 of 2 missed)")
    assert [c.passed for c in checks] == [False, False]


def test_missing_figure_fails_the_gate() -> None:
    generate_only = [Sample("generate", True, 0.0, e2e=1.0, output_tokens=10)]
    ok, _, verdict = evaluate(parse_slo_items(["ttft_p50=100"]), summarize(generate_only))
    assert not ok and "has no samples" in verdict


def test_file_toml_and_json_and_merge(tmp_path: Path) -> None:
    toml = tmp_path / "slo.toml"
    toml.write_text('[slo]\nttft_p99 = 300\nerror_rate = "0.5%"\n')
    slo = load_slo_file(toml)
    assert slo.latency == (("ttft", 99.0, 0.3),) and slo.error_rate == pytest.approx(0.005)
    js = tmp_path / "slo.json"
    js.write_text('{"itl_p50_ms": 20}')
    assert load_slo_file(js).latency == (("itl", 50.0, 0.02),)
    merged = slo.merged(parse_slo_items(["ttft_p99=100"]))
    assert merged.latency == (("ttft", 99.0, 0.1),) and merged.error_rate == pytest.approx(0.005)
    bad = tmp_path / "bad.toml"
    bad.write_text("[slo\n")
    with pytest.raises(SloError, match="is not valid TOML"):
        load_slo_file(bad)
    with pytest.raises(SloError, match="cannot be read"):
        load_slo_file(tmp_path / "missing.toml")


def test_request_level_check_for_goodput() -> None:
    slo = parse_slo_items(["ttft_p99=100ms", "itl_p99=20ms"])
    fast, slow = samples(0.05, n=1)[0], samples(0.5, n=1)[0]
    assert slo.request_ok(fast) and not slo.request_ok(slow)


def test_the_verdict_orders_interrupted_then_failed_requests_then_slo() -> None:
    from orchestrator.load.figures import UNFINISHED, Sample, summarize
    from orchestrator.load.outcome import judge

    ok = [Sample("stream", True, float(i), e2e=0.1, ttft=0.05) for i in range(19)]
    one_error = [Sample("stream", False, 30.0, e2e=0.01, status=429, error_type="overloaded")]
    dead = [
        Sample("stream", False, float(i), e2e=0.001, error_type="ConnectionRefusedError") for i in range(5)
    ]
    stuck = [Sample("stream", False, 0.0, e2e=9.0, error_type=UNFINISHED)]

    def code(
        samples: list[Sample], *, slo: bool = True, interrupted: bool = False, ceiling: float = 0.05
    ) -> int:
        fig = summarize(samples)
        return judge(fig, max_error_rate=ceiling, slo_passed=slo, interrupted=interrupted).exit_code

    assert code(ok + one_error) == 0  # 5 % failed: at the ceiling, not above it
    assert code(ok + one_error + one_error) == 7 and code(ok + one_error * 2, ceiling=0.2) == 0
    assert code(dead) == 7 and code(dead, ceiling=1.0) == 7  # nothing succeeded: always a failure
    assert code(stuck) == 7  # nothing completed
    assert code(ok, slo=False) == 5 and code(dead, slo=False) == 7
    assert code(dead, slo=False, interrupted=True) == 130
    problems = judge(summarize(dead), max_error_rate=0.05, slo_passed=True, interrupted=False).problems
    assert problems and "every request failed (5 of 5: 0:ConnectionRefusedError x5)" in problems[0]
