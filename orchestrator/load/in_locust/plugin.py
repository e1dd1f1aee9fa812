"""The Locust plug-in: our options, the per-process runtime, sample merging and the reports at the end.

Importing this module registers listeners on Locust's global events (as a locustfile's own listeners do):

- `init_command_line_parser`: adds the options declared in `orchestrator.load.declaration`.
- `init`: checks them (exit 2 with the reason) and installs a `--shape` as the run's load shape.
- `test_start`: the master tells its workers how many they are, when the window starts and how long it lasts
  (all ride in the spawn message's options); each load process builds its `LoadRuntime`; `/info` and `/metrics`
  are read; the stop at the run time's end is armed (`run_control.py`; Locust's own `-t` timer is taken over).
- `report_to_master` / `worker_report`: workers drain their new exact samples into every stats report; the master
  merges them (see `collector.py`). At `test_stop` each worker sends the rest in a final message.
- `test_stop`: requests in flight become `unfinished`, the schedule's slots are accounted for, tokenizer check
  of the kept texts (workers, local); `/metrics` read again (master, local).
- `quitting`: a run not stopped yet (SIGTERM, Ctrl-C) is stopped first and marked interrupted; summary JSON,
  samples JSONL and plots into `--report-dir`; the verdict is logged and sets the process exit code
  (`outcome.py`: 130 interrupted, 7 requests failed, 5 SLO missed, 0).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import urllib.request
from typing import Any

from locust import LoadTestShape, events
from locust.runners import MasterRunner, WorkerRunner

from orchestrator.load.collector import REPORT_KEY, SampleCollector
from orchestrator.load.datasets import server_limits
from orchestrator.load.declaration import add_arguments
from orchestrator.load.engines import ENGINE_ENV, wire_for
from orchestrator.load.in_locust.run_control import (
    DONE_MESSAGE,
    FINAL_MESSAGE,
    RunControl,
    register_master_messages,
)
from orchestrator.load.in_locust.runtime import LoadRuntime, find_runtime, set_runtime
from orchestrator.load.options import LoadOptionError, LoadOptions, auth_headers
from orchestrator.load.prompts import PromptError
from orchestrator.load.report import RunRecord, write_reports
from orchestrator.load.shapes import Shape
from orchestrator.load.workload import Workload

__all__ = ["SpecShape"]

log = logging.getLogger("orchestrator.load")

_STATE = "tgi_load_state"


class SpecShape(LoadTestShape):
    """A `--shape` spec driving Locust's user count (closed loop)."""

    abstract = True  # never picked up from a locustfile by itself; installed by the plug-in

    def __init__(self, shape: Shape, spawn_rate: float, run_time: float | None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.shape = shape
        self.spawn_rate = spawn_rate
        self.run_time = run_time

    def tick(self) -> tuple[int, float] | None:
        now: float = self.get_run_time()  # type: ignore[no-untyped-call]
        if self.run_time is not None and now >= self.run_time:
            return None
        users = self.shape.level(now)
        return None if users is None else (users, self.spawn_rate)


def _fetch(url: str, timeout: float = 5.0) -> bytes | None:
    try:
        req = urllib.request.Request(url, headers=auth_headers())
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body: bytes = resp.read()
            return body
    except Exception as exc:  # a report without /info is still a report
        log.warning("could not read %s: %s", url, exc)
        return None


class _State:
    """What the master (or local runner) keeps for the reports."""

    def __init__(self, options: LoadOptions, run_time: float | None = None) -> None:
        self.options = options
        self.collector = SampleCollector()
        self.control = RunControl(run_time)
        self.info: bytes | None = None
        self.metrics_before: bytes | None = None
        self.metrics_after: bytes | None = None
        self.started_at = 0.0
        self.stopped_at = 0.0
        self.processes = 1
        self.reported = False


def _options(environment: Any, *, check_prompts: bool = False) -> LoadOptions:
    try:
        options = LoadOptions.from_namespace(environment.parsed_options)
        if check_prompts:
            Workload(options)
        return options
    except (LoadOptionError, PromptError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)


def _engine(options: LoadOptions) -> str:
    """The host's engine: as `orchestrator load` resolved it, else `ENGINE_ENV` (Locust run alone), else TGI."""
    return options.engine or os.environ.get(ENGINE_ENV) or "tgi"


def _on_parser(parser: Any, **_: Any) -> None:
    add_arguments(parser)


def _on_init(environment: Any, runner: Any = None, **_: Any) -> None:
    if environment.parsed_options is None or isinstance(runner, WorkerRunner):
        return
    parsed = environment.parsed_options
    options = _options(environment, check_prompts=True)
    # the run time is ours (`run_control.py`): exact (`--tgi-run-time`, set by `orchestrator load`) or Locust's -t
    run_time = float(parsed.tgi_run_time or parsed.run_time or 0) or None
    parsed.run_time = None
    state = _State(options, run_time)
    setattr(environment, _STATE, state)
    if isinstance(runner, MasterRunner):
        register_master_messages(runner, lambda: state.control, state.collector.merge)
    if options.shape is not None:
        if options.rate > 0:
            sys.stderr.write("error: --shape drives the user count (closed loop); drop --rate or --shape\n")
            sys.exit(2)
        spawn = float(parsed.spawn_rate or max(1, options.shape.peak()))
        shape = SpecShape(options.shape, spawn, run_time)
        shape.runner = runner
        environment.shape_class = shape


def _on_test_start(environment: Any, **_: Any) -> None:
    runner = environment.runner
    options = _options(environment)
    parsed = environment.parsed_options
    if isinstance(runner, WorkerRunner):
        index = runner.worker_index
        rt = LoadRuntime(environment, options, worker=index, processes=parsed.tgi_processes or 1)
        rt.start_schedule(parsed.tgi_epoch or time.time() + 0.2, parsed.tgi_run_time or None)
        rt.on_done = lambda: runner.send_message(DONE_MESSAGE, {"worker": index, "at": time.time()})
        set_runtime(environment, rt)
        rt.check_done()  # a share of 0 requests: done at once
        return
    state: _State = getattr(environment, _STATE, None) or _State(options)
    setattr(environment, _STATE, state)
    state.options = options
    state.collector.reset()
    host = (environment.host or "").rstrip("/")
    state.info = _fetch(host + wire_for(_engine(options)).info_path)
    state.metrics_before = _fetch(f"{host}/metrics")
    limits = server_limits(state.info)  # datasets and traces skip what the server would refuse
    parsed.tgi_max_input_tokens = limits.max_input_tokens or 0  # to the workers, with the spawn message
    parsed.tgi_max_total_tokens = limits.max_total_tokens or 0
    options = state.options = _options(environment)
    state.started_at = time.time()
    control = state.control
    # the window opens at the first scheduled send (open loop: once every user is spawned, and with workers once
    # the spawn message has reached them) or at once (closed loop: users send as they spawn)
    warmup = (
        (1.0 if isinstance(runner, MasterRunner) else 0.05) + _spawn_time(environment)
        if options.open_loop
        else 0
    )
    control.epoch = state.started_at + warmup
    if isinstance(runner, MasterRunner):
        state.processes = control.processes = max(1, len(runner.clients.ready))
        parsed.tgi_processes = state.processes
        parsed.tgi_epoch = control.epoch
        parsed.tgi_run_time = control.run_time or 0.0
    else:
        rt = LoadRuntime(environment, options, worker=0, processes=1)
        rt.start_schedule(control.epoch, control.run_time)
        rt.collector = state.collector
        rt.collector.text_budget = options.token_check
        rt.collector.workload = rt.workload.describe()
        rt.on_done = lambda: control.stop(environment, "requests")
        set_runtime(environment, rt)
        rt.check_done()
    control.arm(environment)


def _spawn_time(environment: Any) -> float:
    """Open loop: the first slot comes once every user is spawned (`-u / -r`), so none is late for want of users."""
    parsed = environment.parsed_options
    users, rate = getattr(parsed, "num_users", None), getattr(parsed, "spawn_rate", None)
    seconds = float(users) / float(rate) if users and rate else 0.0
    if seconds > 1.0 and float(getattr(parsed, "rate", 0.0) or 0.0) > 0:
        log.warning(
            "open loop: the first request is sent after %.1f s of spawning users; use -r %s", seconds, users
        )
    return seconds


def _on_report_to_master(client_id: str, data: dict[str, Any], **_: Any) -> None:
    env = _worker_env.get("env")
    rt = None if env is None else find_runtime(env)
    if rt is None:
        return
    rt.sync_arrivals()
    data[REPORT_KEY] = rt.collector.drain()


_worker_env: dict[str, Any] = {}


def _remember_env(environment: Any, **_: Any) -> None:
    _worker_env["env"] = environment


def _on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    env = _worker_env.get("env")
    state: _State | None = getattr(env, _STATE, None)
    part = data.get(REPORT_KEY)
    if state is not None and part:
        state.collector.merge(part)


def _on_test_stop(environment: Any, **_: Any) -> None:
    rt = find_runtime(environment)
    if rt is not None:
        rt.stop_cpu_clock()
        rt.record_unfinished()
        rt.settle()
        rt.collector.run_token_check()
        if isinstance(environment.runner, WorkerRunner):  # the rest of its samples, before the master quits
            environment.runner.send_message(FINAL_MESSAGE, rt.collector.drain())
    state: _State | None = getattr(environment, _STATE, None)
    if state is not None and not isinstance(environment.runner, WorkerRunner):
        state.control.note_stopped()
        state.stopped_at = time.time()
        state.metrics_after = _fetch(f"{(environment.host or '').rstrip('/')}/metrics")


def _on_quitting(environment: Any, **_: Any) -> None:
    state: _State | None = getattr(environment, _STATE, None)
    if state is None or isinstance(environment.runner, WorkerRunner) or state.reported:
        return
    state.reported = True
    control = state.control
    if state.started_at and not state.stopped_at and environment.runner is not None:
        control.interrupt(environment)  # quitting before the run stopped: SIGTERM or Ctrl-C
    record = RunRecord(
        options=state.options,
        host=environment.host or "",
        user_classes=[cls.__name__ for cls in environment.user_classes],
        users=int(getattr(environment.parsed_options, "num_users", 0) or 0),
        processes=state.processes,
        started_at=state.started_at,
        stopped_at=state.stopped_at or time.time(),
        info=state.info,
        metrics_before=state.metrics_before,
        metrics_after=state.metrics_after,
        collector=state.collector,
        window_start=control.epoch if state.started_at else 0.0,
        window_stop=control.stop_at or state.stopped_at,
        stop_reason=control.stop_reason or "locust",
        run_time=control.run_time,
        engine=_engine(state.options),
    )
    summary = record.summary()
    if state.options.report_dir is not None:
        write_reports(record, summary, state.options.report_dir)
    if state.options.slo:
        (log.info if summary["slo"]["passed"] else log.error)(summary["slo"]["verdict"])
    outcome = summary["outcome"]
    for problem in outcome["problems"]:
        log.error("requests failed: %s", problem)
    if record.interrupted:
        log.warning("orchestrator: interrupted; the report covers the requests that finished before the stop")
    environment.process_exit_code = outcome["exit_code"]


# registered on import, like a locustfile's own listeners (Locust's hooks are untyped: go through Any)
_events: Any = events
_events.init_command_line_parser.add_listener(_on_parser)
_events.init.add_listener(_on_init)
_events.test_start.add_listener(_on_test_start)
_events.report_to_master.add_listener(_on_report_to_master)
_events.init.add_listener(_remember_env)
_events.worker_report.add_listener(_on_worker_report)
_events.test_stop.add_listener(_on_test_stop)
_events.quitting.add_listener(_on_quitting)
