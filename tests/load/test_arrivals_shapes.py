"""Open-loop schedules (constant, Poisson, split over processes) and step/ramp/spike shapes."""

from __future__ import annotations

import itertools

import pytest

from orchestrator.load.arrivals import ArrivalSchedule
from orchestrator.load.limits import RequestBudget, process_share
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
    stats = sched.settle(stop=0.25)  # slots at 0, 0.1, 0.2 were due; the user waiting for 0.3 is not counted
    assert (stats.slots, stats.sent, stats.late, stats.dropped, stats.unsent_at_stop) == (3, 2, 1, 1, 0)


def test_the_window_holds_exactly_rate_times_run_time_slots_and_they_add_up() -> None:
    # 5/s for 10 s: slots at 0, 0.2, ..., 9.8 (50); the one at 10.0 is the next window's, never sent
    sched = ArrivalSchedule(5.0, start=100.0, end=110.0)
    sent = 0
    for _ in range(46):  # users take the first 46 slots on time
        slot = sched.next_slot()
        sent += sched.decide(slot, slot).send
    waiting = [sched.next_slot() for _ in range(3)]  # three users wait for slots 46-48 when the run stops
    assert waiting[-1] == pytest.approx(109.6)
    stats = sched.settle(stop=109.5)  # 46-47 due (109.2, 109.4), 48 (109.6) not; 49 (109.8) after the stop
    assert (stats.slots, stats.sent, stats.unsent_at_stop, stats.not_due_at_stop) == (48, 46, 2, 1)
    full = ArrivalSchedule(5.0, start=100.0, end=110.0)
    decisions = []
    for _ in range(51):
        slot = full.next_slot()
        decisions.append(full.decide(slot, slot).send)
    assert decisions == [True] * 50 + [False]  # the slot at exactly 110.0 is outside the window
    stats = full.settle(stop=110.004)
    assert (stats.slots, stats.sent, stats.dropped, stats.unsent_at_stop) == (50, 50, 0, 0)


def test_busy_users_leave_due_slots_unsent_and_the_request_budget_closes_the_window() -> None:
    busy = ArrivalSchedule(10.0, start=0.0, end=5.0)
    busy.decide(busy.next_slot(), 0.0)  # one send, then every user stays busy until the stop at 2 s
    stats = busy.settle(stop=2.0)
    assert (stats.slots, stats.sent, stats.unsent_at_stop) == (20, 1, 19)
    budget = RequestBudget(3)
    capped = ArrivalSchedule(10.0, start=0.0, end=100.0, budget=budget, max_lateness=0.05)
    sends = []
    for now in (0.0, 0.1, 0.9, 0.3, 0.4, 0.5):  # the third slot (0.2) is taken 0.7 s late: dropped
        slot = capped.next_slot()
        sends.append(capped.decide(slot, max(now, slot)).send)
    assert sends == [True, True, False, True, False, False] and budget.exhausted
    stats = capped.settle(stop=30.0)  # the window closed with the third send (slot 0.3), long before the stop
    assert (stats.slots, stats.sent, stats.dropped, stats.unsent_at_stop) == (4, 3, 1, 0)


def test_requests_are_shared_over_processes() -> None:
    assert [process_share(10, 3, i) for i in range(3)] == [4, 3, 3]
    assert [process_share(1, 2, i) for i in range(2)] == [1, 0]
    budget = RequestBudget(2)
    assert [budget.claim() for _ in range(3)] == [True, True, False] and budget.exhausted
    assert not RequestBudget(None).exhausted


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
