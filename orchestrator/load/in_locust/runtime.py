"""Per-process state of a load run: options, prompt source, arrival schedule, request budget and the samples.

Built at `test_start` (when a worker has received the master's options) and hung on the Locust environment, so
users find it with `get_runtime(environment)`. `record` keeps the exact sample and fires Locust's `request` event
for the e2e time, and `TTFT` / `ITL` rows for streams, so Locust's own tables show the same requests.

No request starts after the window's end (start + run time) or beyond this process's share of `--requests`;
once its share is sent and answered the process calls `on_done` (the plug-in stops the run, or tells the master).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from orchestrator.load.arrivals import ArrivalSchedule
from orchestrator.load.collector import SampleCollector
from orchestrator.load.engines import ENGINE_ENV
from orchestrator.load.figures import UNFINISHED, Sample
from orchestrator.load.limits import RequestBudget, process_share
from orchestrator.load.options import LoadOptions
from orchestrator.load.workload import Workload

__all__ = ["InFlight", "Lane", "LoadRuntime", "find_runtime", "get_runtime", "set_runtime"]


@dataclass(slots=True)
class InFlight:
    """A request being sent or read; its stream reader (if any) tells whether a token came yet."""

    scenario: str
    start: float
    reader: Any = None
    target: str = ""


@dataclass
class Lane:
    """One endpoint of the run, with its own copy of the prompts, the arrival slots and the request budget.

    An ordinary run has one lane (target ""). An A/B run (`--url-b`) has two, "a" and "b", built from the same
    seed, so both endpoints get the same prompts in the same order and, open loop, the same send times."""

    target: str
    host: str
    workload: Workload
    budget: RequestBudget
    engine: str = "tgi"
    """The engine this lane's server runs: its routes and bodies (`orchestrator.load.engines`)."""
    schedule: ArrivalSchedule | None = None
    users: int = 0


_ATTR = "tgi_load_runtime"


class LoadRuntime:
    def __init__(
        self, environment: Any, options: LoadOptions, *, worker: int = 0, processes: int = 1
    ) -> None:
        self.environment = environment
        self.options = options
        self.worker = worker
        self.processes = max(1, processes)
        self.collector = SampleCollector(worker=worker, text_budget=options.token_check)
        self._wall_offset = time.time() - time.perf_counter()
        if options.url_b and options.seed is None:
            # one random seed for both lanes, so they still draw the same prompts and arrival times
            options = replace(options, seed=secrets.randbelow(2**31) + 1)
            self.options = options
        self.engine = options.engine or os.environ.get(ENGINE_ENV) or "tgi"
        """The engine the users speak to (`orchestrator load` resolves it; Locust alone: `ENGINE_ENV`)."""
        targets = (
            [
                ("a", environment.host or "", self.engine),
                ("b", options.url_b, options.engine_b or self.engine),
            ]
            if options.url_b
            else [("", environment.host or "", self.engine)]
        )
        share = process_share(options.requests, self.processes, worker % self.processes)
        self.lanes = [
            self._lane(
                target, host, engine, Workload(options, worker=worker, processes=self.processes), share
            )
            for target, host, engine in targets
        ]
        self._cpu_start = time.process_time()  # after reading a dataset or trace: the load's CPU only
        self.collector.workload = self.workload.describe()
        self._next_lane = worker % len(self.lanes)
        self.failure_messages: dict[int, str] = {}
        self.inflight: dict[int, InFlight] = {}
        self.deadline: float | None = None
        """perf-clock end of the window: no request starts at or after it"""
        self.on_done: Callable[[], None] | None = None
        self._done = False

    def _lane(self, target: str, host: str, engine: str, workload: Workload, share: int) -> Lane:
        limit = share if self.options.requests else None
        if workload.trace is not None:  # a trace ends once its entries are sent (or dropped) and answered
            limit = len(workload.trace) if limit is None else min(limit, len(workload.trace))
        return Lane(target, host, workload, RequestBudget(limit), engine=engine)

    @property
    def workload(self) -> Workload:
        return self.lanes[0].workload

    @property
    def schedule(self) -> ArrivalSchedule | None:
        return self.lanes[0].schedule

    @property
    def budget(self) -> RequestBudget:
        return self.lanes[0].budget

    def next_lane(self) -> Lane:
        """The lane a new user serves: alternating, starting at this process's index, so the users of every
        process together split evenly between the endpoints of an A/B run."""
        lane = self.lanes[self._next_lane % len(self.lanes)]
        self._next_lane += 1
        lane.users += 1
        return lane

    def start_schedule(self, epoch: float, run_time: float | None = None) -> None:
        """The window opens at `epoch` (wall clock, shared by all processes) and lasts `run_time` seconds (None:
        until the budget is used or the run stopped). Open loop: slots from `epoch` on, the same for each lane."""
        start = time.perf_counter() + (epoch - time.time())
        self.deadline = start + run_time if run_time else None
        offsets = self.workload.trace_offsets
        if self.options.rate <= 0 and offsets is None:
            return
        for lane in self.lanes:
            lane.schedule = ArrivalSchedule(
                self.options.rate,
                offsets=offsets,
                kind=self.options.arrival,
                start=start,
                index=self.worker % self.processes,
                processes=self.processes,
                seed=self.options.seed,
                max_lateness=self.options.max_lateness,
                late_after=self.options.late_after,
                end=self.deadline,
                budget=lane.budget,
            )

    def sync_arrivals(self) -> None:
        """Copy the schedules' counters (summed over the lanes) into the collector (before a report is drained
        or written)."""
        schedules = [lane.schedule for lane in self.lanes if lane.schedule is not None]
        if schedules:
            totals: dict[str, int] = {}
            for schedule in schedules:
                for key, value in schedule.stats.to_dict().items():
                    totals[key] = totals.get(key, 0) + value
            self.collector.arrivals.update(totals)

    def settle(self) -> None:
        """At the stop: account for the window's slots that were neither sent nor dropped (see `arrivals`)."""
        for lane in self.lanes:
            if lane.schedule is not None:
                lane.schedule.settle(time.perf_counter())
        self.sync_arrivals()

    def begin(self, key: int, scenario: str, start: float, lane: Lane | None = None) -> InFlight:
        """A request is about to be sent. Closed loop: past the window's end or beyond the budget, the user stops
        instead (open loop: the schedule already refused such a slot)."""
        lane = lane or self.lanes[0]
        if lane.schedule is None and (
            (self.deadline is not None and time.perf_counter() >= self.deadline) or not lane.budget.claim()
        ):
            from locust.exception import StopUser  # only Locust processes get here

            raise StopUser()
        flight = InFlight(scenario, start, target=lane.target)
        self.inflight[key] = flight
        return flight

    def check_done(self) -> None:
        """Call `on_done` once this process's share of `--requests` is sent and every one of them answered."""
        exhausted = all(lane.budget.exhausted for lane in self.lanes)
        if not self._done and exhausted and not self.inflight and self.on_done is not None:
            self._done = True
            self.on_done()

    def end(self, key: int) -> None:
        self.inflight.pop(key, None)

    def record_unfinished(self) -> None:
        """At the end of the run: requests still in flight become `unfinished` samples (elapsed time so far)."""
        now = time.perf_counter()
        for flight in self.inflight.values():
            st = getattr(flight.reader, "state", None)
            first = getattr(st, "first_token", None)
            self.collector.add(
                Sample(
                    scenario=flight.scenario,
                    ok=False,
                    start_at=self.wall(flight.start),
                    e2e=now - flight.start,
                    ttft=None if first is None else first - flight.start,
                    token_events=int(getattr(st, "token_events", 0) or 0),
                    error_type=UNFINISHED,
                    target=flight.target,
                )
            )
        self.inflight.clear()

    def stop_cpu_clock(self) -> None:
        """CPU seconds this load process spent from test start to stop (all its greenlets), for capacity figures."""
        self.collector.cpu_s = time.process_time() - self._cpu_start

    def keep_text(self) -> bool:
        """Whether the next stream's text is kept: for the tokenizer check, or as a session's reply."""
        return self.collector.wants_text() or self.options.sessions.multi_turn

    def wall(self, perf: float) -> float:
        return perf + self._wall_offset

    def record(self, sample: Sample, name: str) -> None:
        self.collector.add(sample)
        self._fire(sample, name)
        self.check_done()

    def _fire(self, sample: Sample, name: str) -> None:
        fire = self.environment.events.request.fire
        if sample.ok:
            fire(
                request_type="POST",
                name=name,
                response_time=sample.e2e * 1000.0,
                response_length=sample.tokens,
                exception=None,
                context={},
            )
            if sample.ttft is not None:
                fire(
                    request_type="TTFT",
                    name=name,
                    response_time=sample.ttft * 1000.0,
                    response_length=0,
                    exception=None,
                    context={},
                )
            itl = sample.itl
            if itl is not None:
                fire(
                    request_type="ITL",
                    name=name,
                    response_time=itl * 1000.0,
                    response_length=0,
                    exception=None,
                    context={},
                )
        else:
            message = self.failure_messages.pop(id(sample), "")
            fire(
                request_type="POST",
                name=name,
                response_time=sample.e2e * 1000.0,
                response_length=0,
                exception=RuntimeError(f"{sample.status} {sample.error_type}: {message}"),
                context={},
            )


def find_runtime(environment: Any) -> LoadRuntime | None:
    """This process's runtime, or None before `test_start` built it (or in the master, which has none)."""
    rt: LoadRuntime | None = getattr(environment, _ATTR, None)
    return rt


def get_runtime(environment: Any) -> LoadRuntime:
    rt = find_runtime(environment)
    if rt is None:
        raise RuntimeError(
            "the TGI load plug-in is not set up: import orchestrator.load.in_locust.plugin in the locustfile"
        )
    return rt


def set_runtime(environment: Any, runtime: LoadRuntime) -> None:
    setattr(environment, _ATTR, runtime)
