"""Open-loop schedules (constant, Poisson, split over processes) and step/ramp/spike shapes."""

from __future__ import annotations

import itertools

import pytest

from orchestrator.load.arrivals import ArrivalSchedule
from orchestrator.load.shapes import ShapeError, parse_shape


def test_constant_schedule_split_over_processes_is_evenly_spaced() -> None:
    slots = []
    for index in range(3):
        sched = ArrivalSchedule(30.0, start=100.0, index=index, processes=3)
        slots += [sched.next_slot() for _ in range(10)]
    slots.sort()
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(slots)}
    assert gaps == {round(1 / 30, 9)}
    assert slots[0] == 100.0


def test_poisson_schedule_has_the_rate_and_exponential_gaps() -> None:
    sched = ArrivalSchedule(50.0, kind="poisson", start=0.0, seed=7)
    slots = [sched.next_slot() for _ in range(20000)]
    rate = (len(slots) - 1) / (slots[-1] - slots[0])
    assert rate == pytest.approx(50.0, rel=0.03)
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    share_short = sum(1 for g in gaps if g < 1 / 50) / len(gaps)
    assert share_short == pytest.approx(1 - 2.718281828**-1, abs=0.02)  # P(gap < mean) for an exponential


def test_late_and_dropped_sends_are_counted() -> None:
    sched = ArrivalSchedule(10.0, start=0.0, max_lateness=0.5, late_after=0.01)
    on_time = sched.decide(sched.next_slot(), 0.005)
    late = sched.decide(sched.next_slot(), 0.1 + 0.2)
    dropped = sched.decide(sched.next_slot(), 0.2 + 0.9)
    assert on_time.send and late.send and not dropped.send
    assert late.delay == pytest.approx(0.2)
    assert (sched.stats.slots, sched.stats.late, sched.stats.dropped) == (3, 1, 1)


def test_bad_schedule_arguments() -> None:
    with pytest.raises(ValueError, match="--rate"):
        ArrivalSchedule(0)
    with pytest.raises(ValueError, match="--arrival"):
        ArrivalSchedule(1, kind="burst")


def test_shapes() -> None:
    step = parse_shape("step:2,2,10,6,5")
    assert [step.level(t) for t in (0, 9.9, 10, 20, 24.9)] == [2, 2, 4, 6, 6]
    assert step.level(25) is None  # MAX reached after 2 steps of 10 s, then held 5 s
    ramp = parse_shape("ramp:0,100,10")
    assert [ramp.level(t) for t in (0, 5, 10, 1000)] == [0, 50, 100, 100]
    spike = parse_shape("spike:4,64,10,5,30")
    assert [spike.level(t) for t in (0, 10, 14.9, 15)] == [4, 64, 64, 4]
    assert spike.level(30) is None and spike.peak() == 64
    for bad in ("wave:1,2", "ramp:1,2", "step:1,1,0,5", "spike:a,b,c,d"):
        with pytest.raises(ShapeError, match="--shape"):
            parse_shape(bad)
