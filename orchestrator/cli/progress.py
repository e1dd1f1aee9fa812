"""Rendering start-up progress three ways: a live display in a terminal, plain lines otherwise, JSON events.

The renderers only consume `ProgressEvent`s (from `orchestrator.deploy.readiness`), so `up` behaves the same whatever
the output. Plain mode prints phase changes, pull status changes and a heartbeat every `heartbeat` seconds,
so CI logs stay short; JSON mode prints every event as one object per line (for machines).
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any, Protocol

from orchestrator.deploy.readiness import Phase, ProgressEvent

__all__ = ["JsonReporter", "LiveReporter", "PlainReporter", "Reporter", "format_bytes", "make_reporter"]


class Reporter(Protocol):
    def __call__(self, event: ProgressEvent) -> None: ...

    def close(self) -> None: ...


def format_bytes(value: int | None) -> str:
    if value is None:
        return "?"
    size = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _clip(text: str, width: int = 100) -> str:
    text = text.strip()
    return text if len(text) <= width else text[: width - 1] + "…"


class JsonReporter:
    """One JSON object per event on `stream`."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def __call__(self, event: ProgressEvent) -> None:
        self.stream.write(json.dumps(event.to_json()) + "\n")
        self.stream.flush()

    def close(self) -> None:
        return None


class PlainReporter:
    """Readable lines for logs and pipes: phase changes, pull steps, failures, and a periodic heartbeat."""

    def __init__(self, stream: IO[str] | None = None, *, heartbeat: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.heartbeat = heartbeat
        self._phases: dict[str, Phase] = {}
        """The phase shown last, per source (one container: the empty source; a replica set: `replica i`)."""
        self._last_print = -1e9
        self._layers: dict[str, str] = {}

    def _write(self, event: ProgressEvent, text: str) -> None:
        source = f"{event.source}: " if event.source and not text.startswith(event.source) else ""
        self.stream.write(f"[{event.elapsed:7.1f}s] {source}{text}\n")
        self.stream.flush()
        self._last_print = event.elapsed

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "pull":
            status = event.message
            if self._layers.get(event.layer) == status:
                return
            self._layers[event.layer] = status
            size = f" ({format_bytes(event.total)})" if event.total else ""
            self._write(event, f"pulling image: {event.layer + ' ' if event.layer else ''}{status}{size}")
            return
        if event.kind in {"ready", "failed", "info"}:
            self._write(event, f"{event.kind}: {event.message}" if event.kind != "info" else event.message)
            self._phases[event.source] = event.phase
            return
        if event.phase != self._phases.get(event.source):
            self._phases[event.source] = event.phase
            line = f" - {_clip(event.message)}" if event.message else ""
            self._write(event, f"phase: {event.phase.label}{line}")
            return
        if event.elapsed - self._last_print >= self.heartbeat:
            line = f": {_clip(event.message)}" if event.message else ""
            self._write(event, f"{event.phase.label} for {event.phase_elapsed:.0f}s{line}")

    def close(self) -> None:
        return None


class LiveReporter:
    """A rich live panel: spinner, phase, elapsed time, last useful log line, pull layers."""

    def __init__(self, console: Any | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console(stderr=True)
        self.event: ProgressEvent | None = None
        self.layers: dict[str, ProgressEvent] = {}
        self.done: list[tuple[str, str]] = []
        self.sources: dict[str, ProgressEvent] = {}
        """The latest event of each container of a replica set (`replica 1`...), one line each."""
        self.live = Live(self._render(), console=self.console, refresh_per_second=8, transient=False)
        self.live.start()

    def _render(self) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table

        table = Table.grid(padding=(0, 1))
        table.add_column()
        table.add_column()
        for mark, line in self.done[-8:]:
            table.add_row(mark, line)
        for source, item in self.sources.items():
            table.add_row(*_source_row(source, item))
        event = self.event
        if event is None:
            table.add_row(Spinner("dots"), "preparing")
            return table
        if event.kind == "ready":
            table.add_row("[green]✓[/]", f"[bold]ready[/] in {event.elapsed:.1f}s - {event.message}")
            return table
        if event.kind == "failed":
            table.add_row(
                "[red]✗[/]", f"[bold red]failed[/] while {event.phase.label}: {_clip(event.message)}"
            )
            return table
        table.add_row(
            Spinner("dots"),
            f"[bold]{event.phase.label}[/] {event.phase_elapsed:5.1f}s (total {event.elapsed:.1f}s)",
        )
        if event.phase is Phase.PULLING:
            for layer, item in list(self.layers.items())[-6:]:
                size = ""
                if item.total:
                    size = f" {format_bytes(item.current)}/{format_bytes(item.total)}"
                table.add_row("", f"[dim]{layer}[/] {item.message}{size}")
        elif event.message:
            table.add_row("", f"[dim]{_clip(event.message, 120)}[/]")
        return table

    def __call__(self, event: ProgressEvent) -> None:
        if event.source and event.kind != "info":
            self.sources[event.source] = event
            return self.live.update(self._render())
        previous = self.event
        if (
            previous is not None
            and previous.phase != event.phase
            and previous.kind not in {"ready", "failed"}
        ):
            self.done.append(("[green]✓[/]", f"{previous.phase.label} ({previous.phase_elapsed:.1f}s)"))
        if event.kind == "pull" and event.layer:
            self.layers[event.layer] = event
        if event.kind == "info":
            warning = event.message.startswith("warning:")
            self.done.append(("[yellow]![/]" if warning else "[blue]i[/]", event.message))
            if previous is not None:
                return self.live.update(self._render())
        self.event = event
        self.live.update(self._render())

    def close(self) -> None:
        self.live.update(self._render())
        self.live.stop()


def _source_row(source: str, event: ProgressEvent) -> tuple[str, str]:
    """One replica's line in the live display: its phase and time, or ready / failed."""
    if event.kind == "ready":
        return "[green]✓[/]", f"{source}: ready ({event.elapsed:.1f}s)"
    if event.kind == "failed":
        return "[red]✗[/]", f"{source}: failed while {event.phase.label}: {_clip(event.message)}"
    return (
        "[cyan]…[/]",
        f"{source}: {event.phase.label} {event.phase_elapsed:5.1f}s - {_clip(event.message, 80)}",
    )


def make_reporter(mode: str = "auto", stream: IO[str] | None = None) -> Reporter:
    """`json`, `plain`, `live`, or `auto` (live when stderr is a terminal, plain otherwise)."""
    if mode == "json":
        return JsonReporter(stream)
    target = stream or sys.stderr
    if mode == "live" or (mode == "auto" and target.isatty()):
        return LiveReporter()
    return PlainReporter(target)
