"""Per-process state of a load run: options, prompt source, arrival schedule, request budget and the samples.

Built at `test_start` (when a worker has received the master's options) and hung on the Locust environment, so
users find it with `get_runtime(environment)`. `record` keeps the exact sample and fires Locust's `request` event
for the e2e time, and `TTFT` / `ITL` rows for streams, so Locust's own tables show the same requests.

No request starts after the window's end (start + run time) or beyond this process's share of `--requests`;
once its share is sent and answered the process calls `on_done` (the plug-in stops the run, or tells the master).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.load.arrivals import ArrivalSchedule
from orchestrator.load.collector import SampleCollector
from orchestrator.load.figures import UNFINISHED, Sample
from orchestrator.load.limits import RequestBudget, process_share
from orchestrator.load.options import LoadOptions
from orchestrator.load.workload import Workload

__all__ = ["InFlight", "LoadRuntime", "find_runtime", "get_runtime", "set_runtime"]


@dataclass(slots=True)
class InFlight:
    """A request being sent or read; its stream reader (if any) tells whether a token came yet."""

    scenario: str
    start: float
    reader: Any = None


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
        self.workload = Workload(options, worker=worker, processes=self.processes)
        self._cpu_start = time.process_time()  # after reading a dataset or trace: the load's CPU only
        self.collector.workload = self.workload.describe()
        self.schedule: ArrivalSchedule | None = None
        self.failure_messages: dict[int, str] = {}
        self.inflight: dict[int, InFlight] = {}
        share = process_share(options.requests, self.processes, worker % self.processes)
        limit = share if options.requests else None
        # a trace ends once its entries are sent (or dropped) and answered
        if self.workload.trace is not None:
            limit = len(self.workload.trace) if limit is None else min(limit, len(self.workload.trace))
        self.budget = RequestBudget(limit)
        self.deadline: float | None = None
        """perf-clock end of the window: no request starts at or after it"""
        self.on_done: Callable[[], None] | None = None
        self._done = False

    def start_schedule(self, epoch: float, run_time: float | None = None) -> None:
        """The window opens at `epoch` (wall clock, shared by all processes) and lasts `run_time` seconds (None:
        until the budget is used or the run stopped). Open loop: slots from `epoch` on."""
        start = time.perf_counter() + (epoch - time.time())
        self.deadline = start + run_time if run_time else None
        offsets = self.workload.trace_offsets
        if self.options.rate <= 0 and offsets is None:
            return
        self.schedule = ArrivalSchedule(
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
            budget=self.budget,
        )

    def sync_arrivals(self) -> None:
        """Copy the schedule's counters into the collector (before a report is drained or written)."""
        if self.schedule is not None:
            self.collector.arrivals.update(self.schedule.stats.to_dict())

    def settle(self) -> None:
        """At the stop: account for the window's slots that were neither sent nor dropped (see `arrivals`)."""
        if self.schedule is not None:
            self.schedule.settle(time.perf_counter())
        self.sync_arrivals()

    def begin(self, key: int, scenario: str, start: float) -> InFlight:
        """A request is about to be sent. Closed loop: past the window's end or beyond the budget, the user stops
        instead (open loop: the schedule already refused such a slot)."""
        if self.schedule is None and (
            (self.deadline is not None and time.perf_counter() >= self.deadline) or not self.budget.claim()
        ):
            from locust.exception import StopUser  # only Locust processes get here

            raise StopUser()
        flight = InFlight(scenario, start)
        self.inflight[key] = flight
        return flight

    def check_done(self) -> None:
        """Call `on_done` once this process's share of `--requests` is sent and every one of them answered."""
        if not self._done and self.budget.exhausted and not self.inflight and self.on_done is not None:
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
