"""Rendering a pull three ways: a live display (rich: a bar per file and one for the total, bytes, rate,
ETA), plain lines outside a terminal (the plan, each finished file, a heartbeat), or one JSON object per event.

The renderers only consume `PullEvent`s (`orchestrator.weights.events`), so the pull behaves the same whatever
the output.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any, Protocol

from orchestrator.cli.progress import format_bytes
from orchestrator.weights.events import PullEvent, PullPlan

__all__ = ["PullReporter", "describe_plan", "make_pull_reporter"]


class PullReporter(Protocol):
    def __call__(self, event: PullEvent) -> None: ...

    def close(self) -> None: ...


def describe_plan(plan: PullPlan) -> list[str]:
    """The dry run in lines: each file with its size and whether it is cached, then the totals."""
    snap = plan.snapshot
    width = max((len(f.path) for f in snap.files), default=0)
    lines = [f"{snap.repo_id} @ {snap.revision} = commit {snap.commit} ({plan.endpoint})"]
    for f in snap.files:
        mark = "cached" if f.path in plan.cached else "to fetch"
        lines.append(f"  {f.path.ljust(width)}  {format_bytes(f.size):>9}  {mark}")
    missing = len(snap.files) - len(plan.cached)
    lines.append(
        f"to fetch: {plan.download_bytes:,} bytes in {missing} of {len(snap.files)} files "
        f"({format_bytes(plan.download_bytes)} of {format_bytes(snap.total_bytes)}); "
        f"free: {format_bytes(plan.free_bytes)} at {plan.hub_dir}"
    )
    return lines


def _rate(event: PullEvent) -> str:
    rate = f"{format_bytes(int(event.rate))}/s" if event.rate else "-"
    eta = f"ETA {event.eta:.0f}s" if event.eta is not None else "ETA -"
    share = f" ({100 * event.bytes / event.total:.1f}%)" if event.total else ""
    return f"{format_bytes(event.bytes)} / {format_bytes(event.total)}{share}, {rate}, {eta}"


class JsonPullReporter:
    """One JSON object per event; progress events at most every `every` seconds (and the last one)."""

    def __init__(self, stream: IO[str] | None = None, *, every: float = 0.5) -> None:
        self.stream = stream or sys.stdout
        self.every = every
        self._last = -1e9
        self._pending: PullEvent | None = None

    def _write(self, event: PullEvent) -> None:
        self.stream.write(json.dumps(event.to_json()) + "\n")
        self.stream.flush()

    def __call__(self, event: PullEvent) -> None:
        if event.kind == "progress":
            if event.elapsed - self._last < self.every:
                self._pending = event
                return
            self._last = event.elapsed
            self._pending = None
        elif event.kind == "verified" and self._pending is not None:
            self._write(self._pending)  # the last progress comes before the verdicts
            self._pending = None
        self._write(event)

    def close(self) -> None:
        if self._pending is not None:
            self._write(self._pending)
            self._pending = None


class PlainPullReporter:
    """Lines for logs and pipes: the plan, each file as it completes, retries, and a heartbeat."""

    def __init__(self, stream: IO[str] | None = None, *, heartbeat: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.heartbeat = heartbeat
        self._last = 0.0
        self._done: set[str] = set()

    def _write(self, event: PullEvent, text: str) -> None:
        self.stream.write(f"[{event.elapsed:7.1f}s] {text}\n")
        self.stream.flush()

    def __call__(self, event: PullEvent) -> None:
        if event.kind == "plan" and event.plan is not None:
            for line in describe_plan(event.plan):
                self._write(event, line)
        elif event.kind == "file" and event.state == "done" and event.path not in self._done:
            self._done.add(event.path or "")
            self._write(event, f"fetched {event.path} ({format_bytes(event.total)})")
        elif event.kind == "retry":
            self._write(event, f"retrying: {event.message}")
        elif event.kind == "verified" and event.state != "ok":
            self._write(event, f"MISMATCH {event.path} ({event.message}): removed from the snapshot")
        elif event.kind == "progress" and event.elapsed - self._last >= self.heartbeat:
            self._last = event.elapsed
            self._write(event, _rate(event))

    def close(self) -> None:
        return None


class LivePullReporter:
    """A rich live display: a bar per file in flight and one for the total; finished files become lines above.

    Four refreshes a second: the display is drawn on the puller's CPU, which the download needs too."""

    def __init__(self, console: Any | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            refresh_per_second=8,
        )
        self.tasks: dict[str, Any] = {}
        self.done: set[str] = set()
        self.total: Any = None
        self.progress.start()

    def __call__(self, event: PullEvent) -> None:
        if event.kind == "plan" and event.plan is not None:
            for line in describe_plan(event.plan):
                self.console.print(line, highlight=False, markup=False)
            self.total = self.progress.add_task("[bold]total[/]", total=event.plan.download_bytes or 1)
        elif event.kind == "file" and event.state != "cached" and event.path and event.path not in self.done:
            if event.path not in self.tasks:
                self.tasks[event.path] = self.progress.add_task(event.path, total=event.total or 1)
            if event.state == "done":  # a finished file leaves the bars for one line above them
                self.progress.remove_task(self.tasks.pop(event.path))
                self.done.add(event.path)
                self.console.print(f"[green]✓[/] {event.path} ({format_bytes(event.total)})", highlight=False)
            else:
                self.progress.update(self.tasks[event.path], completed=event.bytes)
        elif event.kind == "progress" and self.total is not None:
            self.progress.update(self.total, completed=event.bytes)
        elif event.kind == "retry":
            self.console.print(f"[yellow]retrying:[/] {event.message}", highlight=False)
        elif event.kind == "verified" and event.state != "ok":
            self.console.print(f"[red]MISMATCH[/] {event.path}: removed from the snapshot", highlight=False)

    def close(self) -> None:
        self.progress.stop()


def make_pull_reporter(mode: str = "auto", stream: IO[str] | None = None) -> PullReporter:
    """`json`, `plain`, `live`, or `auto` (live when stderr is a terminal, plain otherwise)."""
    if mode == "json":
        return JsonPullReporter(stream)
    target = stream or sys.stderr
    if mode == "live" or (mode == "auto" and target.isatty()):
        return LivePullReporter()
    return PlainPullReporter(target)
