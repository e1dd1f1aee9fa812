"""Helpers the benchmark scripts share (run them as `python benchmarks/<name>.py`; this folder is on sys.path).

`Targets` is the one place a benchmark compares a figure with its target: it prints the verdict, remembers misses
and gives the exit code (1 on any miss), so no benchmark can print MISSED and still exit 0. When the environment
names a results file (`BENCHMARK_RESULTS`, set by scripts/run-benchmarks.sh) every verdict is appended to it as one
JSON line; `python benchmarks/_support.py table FILE` turns that file into the runner's closing met / missed table.
`BENCHMARK_TARGETS="bench.target=value,..."` replaces a target's bound (how the tests force an impossible one).
"""

from __future__ import annotations

import json
import operator
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Outcome", "Targets", "free_port", "instant_emulator", "render_table"]

RESULTS_ENV = "BENCHMARK_RESULTS"
OVERRIDES_ENV = "BENCHMARK_TARGETS"
_RELATIONS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def instant_emulator(
    *, pin_self: bool = False, profile: str = "instant", args: tuple[str, ...] = ()
) -> Iterator[int]:
    """`python -m orchestrator.emulator` (instant profile unless told another, plus `args`) on a free loopback
    port, on the last core (and this process on the others with `pin_self`), until it answers `/health`; yields
    the port, stops it afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "orchestrator.emulator", "--port", str(port), "--hostname", "127.0.0.1",
               "--emulator-profile", profile, *args]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) > 1:
        os.sched_setaffinity(process.pid, {cores[-1]})  # the server on another core than the client
        if pin_self:
            os.sched_setaffinity(0, set(cores[:-1]))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the emulator did not become ready within 30 s") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass(frozen=True)
class Outcome:
    """One figure against one target."""

    benchmark: str
    target: str
    figure: float
    relation: str
    bound: float
    unit: str
    met: bool

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        verdict = "met" if self.met else "MISSED"
        return f"{self.target}: {_number(self.figure)}{unit} (target {self.relation} {_number(self.bound)}{unit}) -> {verdict}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"


def _overrides(benchmark: str) -> dict[str, float]:
    """Bounds replaced through BENCHMARK_TARGETS for this benchmark; a malformed entry is an error, not ignored."""
    found: dict[str, float] = {}
    for entry in filter(None, (part.strip() for part in os.environ.get(OVERRIDES_ENV, "").split(","))):
        key, sep, value = entry.partition("=")
        bench, dot, target = key.strip().partition(".")
        try:
            bound = float(value)
        except ValueError:
            bound = float("nan")
        if not sep or not dot or bound != bound:
            raise SystemExit(
                f"{OVERRIDES_ENV}: {entry!r} is not `benchmark.target=number` (e.g. load_capacity.streams_held=512)"
            )
        if bench == benchmark:
            found[target] = bound
    return found


class Targets:
    """Compares a benchmark's figures with their targets, prints each verdict, and decides the exit code."""

    def __init__(self, benchmark: str, *, quiet: bool = False) -> None:
        self.benchmark = benchmark
        self.quiet = quiet  # `--json` modes print their own output; the verdicts still count and are recorded
        self.outcomes: list[Outcome] = []
        self._overrides = _overrides(benchmark)
        self._results = os.environ.get(RESULTS_ENV)

    def check(self, target: str, figure: float, relation: str, bound: float, unit: str = "") -> bool:
        """Record `figure relation bound` (e.g. `median_s`, 0.21, "<", 0.3); True when met."""
        if relation not in _RELATIONS:
            raise ValueError(f"relation must be one of {sorted(_RELATIONS)}, not {relation!r}")
        bound = self._overrides.get(target, bound)
        met = figure == figure and _RELATIONS[relation](figure, bound)  # NaN (nothing measured) misses
        outcome = Outcome(self.benchmark, target, float(figure), relation, float(bound), unit, met)
        self.outcomes.append(outcome)
        if not self.quiet:
            print(f"  {outcome.describe()}")
        if self._results:
            with Path(self._results).open("a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(outcome)) + "\n")
        return met

    @property
    def missed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.met]

    def exit_code(self) -> int:
        """1 when any target was missed or none was checked (a benchmark that measured nothing has not passed)."""
        if not self.quiet:
            names = ", ".join(o.target for o in self.missed)
            print(f"{self.benchmark}: " + (f"TARGETS MISSED: {names}" if names else "all targets met"))
        return 1 if self.missed or not self.outcomes else 0


def render_table(lines: list[str]) -> tuple[str, int]:
    """The runner's closing table from its results file: target verdicts plus `{"benchmark", "exit"}` lines.

    A benchmark that exited non-zero without a missed target (it crashed, or checked nothing) gets a `failed` row.
    Returns the table and the runner's exit code (1 when anything missed or failed).
    """
    rows: list[tuple[str, str, str, str]] = []
    missed_by: dict[str, int] = {}
    for line in filter(None, (raw.strip() for raw in lines)):
        record = json.loads(line)
        if "exit" in record:
            bench, code = str(record["benchmark"]), int(record["exit"])
            if code != 0 and not missed_by.get(bench):
                rows.append((bench, "(run)", f"exit code {code}", "FAILED"))
                missed_by[bench] = 1
            continue
        o = Outcome(**record)
        unit = f" {o.unit}" if o.unit else ""
        rows.append(
            (
                o.benchmark,
                o.target,
                f"{_number(o.figure)}{unit} ({o.relation} {_number(o.bound)}{unit})",
                "met" if o.met else "MISSED",
            )
        )
        if not o.met:
            missed_by[o.benchmark] = missed_by.get(o.benchmark, 0) + 1
    header = ("benchmark", "target", "figure (target)", "verdict")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    text = "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
    return text, 1 if missed_by or not rows else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "table":
        raise SystemExit("usage: python benchmarks/_support.py table RESULTS_FILE")
    table, code = render_table(Path(sys.argv[2]).read_text(encoding="utf-8").splitlines())
    print(table)
    sys.exit(code)
