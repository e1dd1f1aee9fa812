"""When a load run stops, and why: run time, `--requests`, Ctrl-C / SIGTERM, or Locust itself (a shape's end).

Locust's own `-t` timer is not used: gevent arms it from the event loop's cached clock, which is stale by the
time the test starts (a 10 s run stopped after 9.2 s, a 20 s one after 19.1 s), and it counts from the start of
spawning rather than from the first scheduled send. Here the window opens at the schedule's epoch and the stop
comes at epoch + run time by the wall clock, re-checked after every sleep.

With workers, the master stops them, then waits for each one's final samples (sent in a `tgi_load_final` message
at its `test_stop`, in-flight requests included as `unfinished`) before it quits, so no sample is lost at the end.
A worker whose share of `--requests` is sent and answered says so (`tgi_load_done`); when all have, the run stops.
Imports gevent: Locust processes only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust.runners import MasterRunner

__all__ = ["DONE_MESSAGE", "FINAL_MESSAGE", "RunControl"]

log = logging.getLogger("orchestrator.load")

DONE_MESSAGE = "tgi_load_done"
FINAL_MESSAGE = "tgi_load_final"
FINAL_WAIT_S = 15.0
"""Longest the master waits for the workers' final samples after stopping them."""


@dataclass
class RunControl:
    """The master's (or local runner's) stop decision. Times are wall-clock epoch seconds."""

    run_time: float | None
    processes: int = 1
    epoch: float = 0.0
    """the window's start: the first scheduled send (open loop) or the test start (closed loop)"""
    stop_reason: str | None = None
    """duration | requests | interrupted | locust (stopped by Locust itself, e.g. the end of a shape)"""
    stop_at: float | None = None
    """the window's end: epoch + run time, the last answer of `--requests`, or the interrupt"""
    done_workers: dict[int, float] = field(default_factory=dict)
    final_workers: set[int] = field(default_factory=set)

    @property
    def interrupted(self) -> bool:
        return self.stop_reason == "interrupted"

    def arm(self, environment: Any) -> None:
        """Stop the run at epoch + run time (if there is one)."""
        if self.run_time:
            log.info(
                "orchestrator: run time %.3g s from the window's start (the first scheduled send)",
                self.run_time,
            )
            gevent.spawn(self._stop_at_deadline, environment, self.epoch + self.run_time)

    def _stop_at_deadline(self, environment: Any, deadline: float) -> None:
        while (left := deadline - time.time()) > 0:
            gevent.sleep(left)  # may wake early on a stale loop clock: the wall clock is checked again
        self.stop(environment, "duration", at=deadline)

    def stop(self, environment: Any, reason: str, *, at: float | None = None) -> None:
        """Stop the run once (later calls do nothing): stop the users, collect the workers' last samples, quit."""
        if self.stop_reason is not None:
            return
        self.stop_reason = reason
        self.stop_at = at if at is not None else time.time()
        log.info("orchestrator: stopping the load (%s)", reason)
        gevent.spawn(self._stop_and_quit, environment)

    def _stop_and_quit(self, environment: Any) -> None:
        runner = environment.runner
        if isinstance(runner, MasterRunner):
            runner.stop()
            self.wait_for_final_samples()
        runner.quit()

    def interrupt(self, environment: Any) -> None:
        """Quitting before the run stopped (SIGTERM, Ctrl-C): stop it here, in the quitting greenlet, so the report
        holds every sample, the requests in flight as `unfinished`. A stop already under way keeps its reason."""
        if self.stop_reason is None:
            self.stop_reason = "interrupted"
            self.stop_at = time.time()
            log.info("orchestrator: interrupted; stopping the load and writing the report")
        runner = environment.runner
        runner.stop()
        if isinstance(runner, MasterRunner):
            self.wait_for_final_samples()

    def note_stopped(self) -> None:
        """`test_stop` came: by our decision, or by Locust's own (a shape's end)."""
        if self.stop_reason is None:
            self.stop_reason = "locust"
            self.stop_at = time.time()

    def wait_for_final_samples(self) -> None:
        deadline = time.time() + FINAL_WAIT_S
        while len(self.final_workers) < self.processes and time.time() < deadline:
            gevent.sleep(0.05)
        missing = self.processes - len(self.final_workers)
        if missing > 0:
            log.warning(
                "orchestrator: %d worker(s) sent no final samples within %.0f s", missing, FINAL_WAIT_S
            )

    # master side of the worker messages ----------------------------------------------------------------------
    def on_done_message(self, environment: Any, worker: int, at: float) -> None:
        self.done_workers[worker] = at
        if len(self.done_workers) >= self.processes:
            self.stop(environment, "requests", at=max(self.done_workers.values()))

    def on_final_message(self, worker: int) -> None:
        self.final_workers.add(worker)


def register_master_messages(
    runner: MasterRunner, control: Callable[[], RunControl | None], merge: Callable[[dict[str, Any]], None]
) -> None:
    """The master's handlers for the workers' `tgi_load_done` and `tgi_load_final` messages."""

    def on_done(environment: Any, msg: Any, **_: Any) -> None:
        rc = control()
        if rc is not None:
            rc.on_done_message(environment, int(msg.data["worker"]), float(msg.data["at"]))

    def on_final(environment: Any, msg: Any, **_: Any) -> None:
        merge(msg.data)
        rc = control()
        if rc is not None:
            rc.on_final_message(int(msg.data.get("worker", 0)))

    runner.register_message(DONE_MESSAGE, on_done)
    runner.register_message(FINAL_MESSAGE, on_final)
