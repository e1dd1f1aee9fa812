"""Waiting for TGI to be truly ready: stall limits, the start-up tracker and the wait loop.

Three layers, testable apart:
- `StartupTracker`: pure. The engine's log milestones (`Engine.phase_of_line`) move the phase forward; the tracker
  knows how long each phase and the whole start-up may take and reports a stall. Time is passed in.
- `probe_health` / `probe_generate` (`orchestrator.deploy.probes`): one HTTP call each over a real socket.
- `wait_until_ready`: the loop. It follows the container's log stream in a thread, polls the container state,
  and probes `/health` (every 25 ms once TGI logged `Connected`, every 0.5 s before); ready means `/health`
  answered 200 and a one-token `/generate` succeeded. It fails fast when the container exits.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from orchestrator.deploy.probes import http_get, probe_generate, probe_health
from orchestrator.engines import Engine, Phase, engine_for
from orchestrator.engines.diagnosis import redact

__all__ = [
    "ContainerTarget",
    "Phase",
    "ProgressEvent",
    "StallLimits",
    "StartupFailure",
    "StartupTracker",
    "http_get",
    "probe_generate",
    "probe_health",
    "wait_until_ready",
]


@dataclass(frozen=True)
class StallLimits:
    """Seconds each phase may take (download: without a new log line) and the whole start-up deadline."""

    pull: float = 600.0
    download: float = 900.0
    load: float = 600.0
    warmup: float = 600.0
    deadline: float = 3600.0


@dataclass(frozen=True)
class ProgressEvent:
    """What a progress display receives: `kind` is phase, log, pull, waiting, ready, failed or info."""

    kind: str
    phase: Phase
    elapsed: float
    phase_elapsed: float = 0.0
    message: str = ""
    layer: str = ""
    current: int | None = None
    total: int | None = None
    source: str = ""
    """Which container of a replica set it is about (`replica 2`, `balancer`); empty for one container."""

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "event": self.kind,
            "phase": self.phase.value,
            "elapsed": round(self.elapsed, 3),
            "phase_elapsed": round(self.phase_elapsed, 3),
        }
        if self.message:
            data["message"] = self.message
        if self.layer:
            data["layer"] = self.layer
        if self.current is not None:
            data["current"] = self.current
        if self.total is not None:
            data["total"] = self.total
        if self.source:
            data["source"] = self.source
        return data


class StartupFailure(Exception):
    """Start-up did not reach ready: `reason` is exited, stalled or deadline; carries the log tail."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        phase: Phase,
        elapsed: float,
        exit_code: int | None = None,
        log_tail: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.phase = phase
        self.elapsed = elapsed
        self.exit_code = exit_code
        self.log_tail = list(log_tail or [])


@dataclass
class StartupTracker:
    """Pure phase and stall bookkeeping; feed it lines and times, ask it whether start-up stalled."""

    limits: StallLimits
    started: float
    phase: Phase = Phase.STARTING
    secrets: tuple[str, ...] = ()
    phase_started: float = 0.0
    last_activity: float = 0.0
    last_line: str = ""
    connected: bool = False
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    engine: Engine = field(default_factory=engine_for)
    """Whose log lines these are (what a line means is an engine fact)."""

    def __post_init__(self) -> None:
        self.phase_started = self.phase_started or self.started
        self.last_activity = self.last_activity or self.started

    def enter(self, phase: Phase, now: float) -> bool:
        """Move to `phase` if it is later than the current one; True when the phase changed."""
        if phase.order <= self.phase.order:
            return False
        self.phase = phase
        self.phase_started = now
        self.last_activity = now
        return True

    def observe(self, line: str, now: float) -> Phase | None:
        """Record a log line; returns the new phase when the line moved start-up forward."""
        clean = redact(line, self.secrets).rstrip()
        self.tail.append(clean)
        self.last_activity = now
        if self.engine.is_useful_line(clean):
            self.last_line = self.engine.tidy_line(clean)
        if self.engine.is_serving_line(clean):
            self.connected = True
        phase = self.engine.phase_of_line(clean)
        if phase is not None and self.enter(phase, now):
            return phase
        return None

    def activity(self, now: float) -> None:
        """Progress without a log line (pull bytes arriving)."""
        self.last_activity = now

    def stall(self, now: float) -> str | None:
        """A message when the deadline passed or the current phase exceeded its limit, else None."""
        total = now - self.started
        if total > self.limits.deadline:
            return (
                f"start-up took longer than timeouts.startup_deadline ({self.limits.deadline:g} s); "
                f"still {self.phase.label}"
            )
        if self.phase in (Phase.PULLING, Phase.DOWNLOADING):
            quiet = now - self.last_activity
            limit = self.limits.pull if self.phase is Phase.PULLING else self.limits.download
            setting = "timeouts.stall_pull" if self.phase is Phase.PULLING else "timeouts.stall_download"
            if quiet > limit:
                silent = ""
                if self.phase is Phase.DOWNLOADING and self.engine.silent_download:
                    silent = f"; {self.engine.name} logs nothing while downloading and the cache did not grow"
                return (
                    f"no progress while {self.phase.label} for {quiet:.0f} s (limit {setting} = {limit:g} s)"
                    + silent
                )
            return None
        if self.phase is Phase.READY:
            return None
        limit = self.limits.warmup if self.phase is Phase.WARMING_UP else self.limits.load
        setting = "timeouts.stall_warmup" if self.phase is Phase.WARMING_UP else "timeouts.stall_load"
        spent = now - self.phase_started
        if spent > limit:
            return f"{self.phase.label} took longer than {setting} ({limit:g} s)"
        return None


# -- the wait loop ---------------------------------------------------------------------------------------------


class ContainerTarget(Protocol):
    """What `wait_until_ready` needs from a container (the runtime adapts a Docker container to this)."""

    def status(self) -> tuple[str, int | None]:
        """(docker status, exit code when exited)."""
        ...

    def follow_logs(self) -> Iterable[str]:
        """Log lines from the start; ends when the container stops. A `close()` method, if any, is called
        when waiting ends."""
        ...


_END = object()
EXIT_DRAIN_S = 2.0  # how long a stopped container's log stream may take to deliver its last lines


def _pump(lines: Iterable[str], sink: queue.Queue[object]) -> None:
    try:
        for line in lines:
            sink.put(line)
    except Exception as exc:  # the stream breaking is reported as its end; state polling tells why
        sink.put(f"(log stream ended: {exc})")
    finally:
        sink.put(_END)


def wait_until_ready(
    target: ContainerTarget,
    endpoint: str,
    tracker: StartupTracker,
    *,
    api_key: str | None = None,
    on_event: Callable[[ProgressEvent], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    fast_poll: float = 0.025,
    slow_poll: float = 0.5,
    state_every: float = 1.0,
    tick_every: float = 1.0,
    cache_size: Callable[[], int | None] | None = None,
) -> float:
    """Block until ready (returns seconds since `tracker.started`) or raise `StartupFailure`.

    `cache_size` reads the weights cache's bytes: for an engine that logs nothing while downloading
    (`Engine.silent_download`), its growth counts as download progress.
    """
    lines: queue.Queue[object] = queue.Queue()
    stream = target.follow_logs()
    threading.Thread(target=_pump, args=(stream, lines), daemon=True, name="log-follow").start()
    polls = _Polls(fast_poll, slow_poll, state_every, tick_every)
    try:
        wait = _Wait(
            target, endpoint, tracker, lines, api_key, on_event or (lambda event: None), clock, polls
        )
        wait.cache_size = cache_size if tracker.engine.silent_download else None
        return wait.run()
    finally:
        close = getattr(stream, "close", None)
        if callable(close):  # stop following: the reader thread ends instead of buffering forever
            with contextlib.suppress(Exception):
                close()


@dataclass(frozen=True)
class _Polls:
    """How often the wait probes (fast once the server answers), looks at the container, and reports."""

    fast: float
    slow: float
    state_every: float
    tick_every: float


class _Wait:
    """One start-up wait: log lines move the tracker, the container's state ends it early, probes end it."""

    def __init__(
        self,
        target: ContainerTarget,
        endpoint: str,
        tracker: StartupTracker,
        lines: queue.Queue[object],
        api_key: str | None,
        emit: Callable[[ProgressEvent], None],
        clock: Callable[[], float],
        polls: _Polls,
    ) -> None:
        self.target, self.endpoint, self.tracker, self.lines = target, endpoint, tracker, lines
        self.api_key, self.emit, self.clock, self.polls = api_key, emit, clock, polls
        self.stream_open = True
        self.next_state = self.next_probe = self.next_tick = clock()
        self.last_probe_note = ""
        self.cache_size: Callable[[], int | None] | None = None
        self.cache_seen: int | None = None

    def run(self) -> float:
        self.event("phase", self.tracker.last_line)
        while True:
            now = self.clock()
            self.read_lines(max(0.0, min(self.next_probe, self.next_state, self.next_tick) - now))
            now = self.clock()
            if now >= self.next_state:
                self.check_container(now)
            if now >= self.next_probe and self.probe(now):
                return self.clock() - self.tracker.started
            if now >= self.next_tick:
                self.event("waiting", self.last_probe_note or self.tracker.last_line)
                self.next_tick = now + self.polls.tick_every
            problem = self.tracker.stall(self.clock())
            if problem is not None:
                raise self.fail("deadline" if "startup_deadline" in problem else "stalled", problem)

    def event(self, kind: str, message: str = "") -> None:
        now, tracker = self.clock(), self.tracker
        self.emit(
            ProgressEvent(kind, tracker.phase, now - tracker.started, now - tracker.phase_started, message)
        )

    def fail(self, reason: str, message: str, exit_code: int | None = None) -> StartupFailure:
        self.event("failed", message)
        tracker = self.tracker
        return StartupFailure(
            reason,
            message,
            phase=tracker.phase,
            elapsed=self.clock() - tracker.started,
            exit_code=exit_code,
            log_tail=list(tracker.tail),
        )

    def read_lines(self, wait: float) -> None:
        """Wait up to `wait` seconds for log lines, then take every line already there."""
        item: object = None
        if self.stream_open:
            with contextlib.suppress(queue.Empty):
                item = self.lines.get(timeout=wait)
        elif wait:
            time.sleep(wait)
        now = self.clock()
        while item is not None:
            if item is _END:
                self.stream_open = False
                self.next_state = now  # the stream ends when the container stops: look at once
            else:
                assert isinstance(item, str)
                was_serving = self.tracker.connected
                changed = self.tracker.observe(item, now)
                self.event("phase" if changed else "log", self.tracker.last_line)
                if self.tracker.connected and not was_serving:
                    self.next_probe = now  # the port opens right after the serving line: probe at once
            try:
                item = self.lines.get_nowait()
            except queue.Empty:
                item = None

    def drain_lines(self, limit_s: float) -> None:
        """Read what a stopped container's log stream still holds: its state can turn "exited" before the
        follower thread has queued the last lines. Waits until the stream ends, at most `limit_s` seconds."""
        until = time.monotonic() + limit_s
        while self.stream_open and (left := until - time.monotonic()) > 0:
            self.read_lines(left)

    def check_container(self, now: float) -> None:
        status, exit_code = self.target.status()
        if status in {"exited", "dead"} or (status == "created" and not self.stream_open):
            self.drain_lines(EXIT_DRAIN_S)  # its last lines tell which phase it died in
            message = f"the container exited with code {exit_code} while {self.tracker.phase.label}"
            raise self.fail("exited", message, exit_code)
        self.next_state = now + self.polls.state_every
        if self.cache_size is not None and self.tracker.phase is Phase.DOWNLOADING:
            self.watch_cache(now)

    def watch_cache(self, now: float) -> None:
        """A silent download's progress: the cache growing is activity (stall limits count from it)."""
        assert self.cache_size is not None
        size = self.cache_size()
        if size is None:
            return
        if self.cache_seen is not None and size > self.cache_seen:
            self.tracker.activity(now)
            self.event("log", f"downloading: {size / 1e6:,.0f} MB in the cache")
        self.cache_seen = size

    def probe(self, now: float) -> bool:
        """Health, then the one-token request once health is 200; True when both succeeded (ready)."""
        tracker, engine = self.tracker, self.tracker.engine
        code = probe_health(self.endpoint, engine.routes.health, timeout=min(1.0, max(0.2, self.polls.slow)))
        if code == 200:
            ok, note = probe_generate(self.endpoint, engine.readiness_probe, api_key=self.api_key)
            if ok:
                tracker.enter(Phase.READY, self.clock())
                self.event("ready", f"ready at {self.endpoint}")
                return True
            self.last_probe_note = note
        elif code is not None:
            self.last_probe_note = f"{engine.routes.health} answered {code}"
        if code is not None and tracker.phase.order < Phase.WARMING_UP.order:
            tracker.enter(Phase.WARMING_UP, now)
            self.event("phase", tracker.last_line)
        fast = tracker.connected or code is not None
        self.next_probe = self.clock() + (self.polls.fast if fast else self.polls.slow)
        return False
