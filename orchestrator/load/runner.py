"""Runs Locust for `orchestrator load`: in a subprocess, then reads the summary it wrote.

Why a subprocess: `import locust` monkey-patches the interpreter with gevent (sockets, threads, time), which must
never happen inside the CLI or a test process, and `--processes N` forks anyway. The child is
`python -m locust -f orchestrator/load/locustfile.py --headless ...` with our options; its output goes to
`<report dir>/locust.log`, its reports into the report directory. A sweep is a series of such runs at rising
open-loop rates, stopping at the first whose SLO fails; the goodput is the highest rate that still met it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.load.options import API_KEY_ENV, LoadOptionError, LoadOptions, add_arguments
from orchestrator.load.prompts import PromptError
from orchestrator.load.report import SAMPLES_FILE, SLO_EXIT_CODE, SUMMARY_FILE, read_samples

__all__ = [
    "SCENARIOS",
    "LoadError",
    "LoadRequest",
    "LoadResult",
    "SweepResult",
    "build_command",
    "parse_duration",
    "parse_rates",
    "prepare_report_dir",
    "require_load_extra",
    "run_load",
    "run_sweep",
]

SCENARIOS: dict[str, tuple[str, ...]] = {
    "generate": ("GenerateUser",),
    "stream": ("StreamUser",),
    "chat": ("ChatUser",),
    "client": ("ClientUser",),
    "mix": (),  # every user class of the locustfile, by weight
}

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


class LoadError(OrchestratorError):
    """The load test could not run (bad option, Locust crashed, no summary)."""

    exit_code = 2


class SloMissed(OrchestratorError):
    """The run finished but missed an SLO: CI should fail."""

    exit_code = SLO_EXIT_CODE


def parse_duration(text: str, *, setting: str = "--duration") -> float:
    """`30s`, `2m`, `1h30m`, `45` (seconds) -> seconds."""
    raw = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        value = float(raw)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", raw)
        if not parts or "".join(n + u for n, u in parts) != raw:
            raise LoadError(f"{setting} {text!r} is not a duration; use e.g. 30s, 2m or 1h30m")
        value = sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    if value <= 0:
        raise LoadError(f"{setting} {text!r} must be above zero")
    return value


def parse_rates(text: str) -> list[float]:
    """`1,2,4,8` or `START:STOP:STEP` (inclusive) -> rates in requests/s."""
    hint = f"--sweep {text!r}: use a list like 1,2,4,8 or a range START:STOP:STEP like 2:20:2"
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if step <= 0 or start <= 0 or stop < start:
                raise LoadError(hint)
            count = math.floor((stop - start) / step + 1e-9) + 1
            rates = [round(start + i * step, 6) for i in range(count)]
        else:
            rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise LoadError(hint) from None
    if not rates or any(r <= 0 for r in rates) or rates != sorted(rates):
        raise LoadError(hint + " (positive, rising)")
    return rates


@dataclass(frozen=True)
class LoadRequest:
    """One Locust run. `options` are our Locust options as command-line words (`--rate 5`, `--slo ...`)."""

    url: str
    scenario: str
    users: int
    duration_s: float
    report_dir: Path
    processes: int = 1
    spawn_rate: float | None = None
    options: tuple[str, ...] = ()
    api_key: str | None = field(default=None, repr=False, compare=False)
    """TGI's API key (the settings' `secrets.api_key`): handed to the Locust processes in their environment
    (`ORCHESTRATOR_SECRETS__API_KEY`), never on their command line; kept out of the repr."""

    def checked_options(self) -> LoadOptions:
        """Check the request, and parse `options` exactly as the Locust side will, before Locust starts."""
        if self.scenario not in SCENARIOS:
            raise LoadError(f"--scenario {self.scenario!r} is not one of {', '.join(SCENARIOS)}")
        if self.users < 1:
            raise LoadError(f"--users {self.users} must be at least 1")
        if self.processes < 1:
            raise LoadError(f"--processes {self.processes} must be at least 1")
        parser = argparse.ArgumentParser(prog="orchestrator load", add_help=False, exit_on_error=False)
        add_arguments(parser)
        try:
            ns, rest = parser.parse_known_args(list(self.options))
        except (argparse.ArgumentError, SystemExit) as exc:
            raise LoadError(f"invalid load option: {exc}") from None
        if rest:
            raise LoadError(f"unknown load options {rest}")
        try:
            options = LoadOptions.from_namespace(ns)
            options.prompt_source()  # a too-short length or a bad JSONL line fails here, before Locust starts
        except (LoadOptionError, PromptError) as exc:
            raise LoadError(str(exc)) from exc
        return options


def build_command(req: LoadRequest) -> list[str]:
    """The Locust command line for `req` (checked by `req.checked_options()` first)."""
    spawn = req.spawn_rate if req.spawn_rate else max(float(req.users), 1.0) * 10
    cmd = [
        sys.executable, "-m", "locust",
        "-f", str(LOCUSTFILE),
        "--headless",
        "--host", req.url,
        "-u", str(req.users),
        "-r", f"{spawn:g}",
        "-t", f"{max(1, round(req.duration_s))}s",
        "--csv", str(req.report_dir / "locust"),
        "--html", str(req.report_dir / "report.html"),
        "--report-dir", str(req.report_dir),
        "--only-summary",
        "--loglevel", "INFO",
    ]  # fmt: skip
    if req.processes > 1:
        cmd += ["--processes", str(req.processes)]
    cmd += list(req.options)
    cmd += list(SCENARIOS[req.scenario])
    return cmd


@dataclass
class LoadResult:
    request: LoadRequest
    summary: dict[str, Any]
    exit_code: int
    log_file: Path

    @property
    def slo_passed(self) -> bool:
        return bool(self.summary.get("slo", {}).get("passed", True))

    @property
    def verdict(self) -> str:
        return str(self.summary.get("slo", {}).get("verdict", "SLO: none set"))


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


LOAD_EXTRA_MODULES = ("locust", "matplotlib")
"""What the `[load]` extra installs: Locust runs the load, matplotlib draws the reports' plots."""


def require_load_extra() -> None:
    """Fail with the install command, before anything starts, when the `[load]` extra is missing.

    Checked by looking the modules up, not importing them: `import locust` monkey-patches the interpreter with
    gevent, which must only happen in the Locust process."""
    missing = [name for name in LOAD_EXTRA_MODULES if not _installed(name)]
    if missing:
        raise LoadError(
            f"load testing needs the [load] extra, which is not installed (missing: {', '.join(missing)}); "
            "install it with: pip install 'tgi-orchestrator[load]'"
        )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _report_dir_error(path: Path, exc: OSError) -> LoadError:
    return LoadError(
        f"--report-dir {str(path)!r} cannot be written ({exc.strerror or exc}); "
        "pass a directory you can write to (missing parents are created)"
    )


def prepare_report_dir(path: Path) -> None:
    """Create `path` and check a file can be written in it, so a bad `--report-dir` fails before Locust runs
    (and not with a traceback) rather than after minutes of load."""
    probe = path / ".orchestrator-write-test"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise _report_dir_error(path, exc) from None


def _child_env(req: LoadRequest) -> dict[str, str]:
    """This process's environment, plus the API key when there is one (the environment, unlike argv, is not
    visible to other users in the process list)."""
    env = dict(os.environ)
    if req.api_key:
        env[API_KEY_ENV] = req.api_key
    return env


def run_load(req: LoadRequest, *, timeout_s: float | None = None) -> LoadResult:
    """Run Locust to the end and return its summary; raise `LoadError` if it produced none."""
    require_load_extra()
    req.checked_options()
    cmd = build_command(req)
    summary_path = req.report_dir / SUMMARY_FILE
    log_file = req.report_dir / "locust.log"
    try:
        req.report_dir.mkdir(parents=True, exist_ok=True)
        summary_path.unlink(missing_ok=True)
        log = log_file.open("w", encoding="utf-8")
    except OSError as exc:
        raise _report_dir_error(req.report_dir, exc) from None
    limit = timeout_s if timeout_s is not None else req.duration_s + 120
    with log:
        try:
            proc = subprocess.run(
                cmd, stdout=log, stderr=subprocess.STDOUT, timeout=limit, check=False, env=_child_env(req)
            )
        except subprocess.TimeoutExpired:
            raise LoadError(
                f"Locust did not finish within {limit:.0f} s; see {log_file}:\n{_tail(log_file)}"
            ) from None
    if not summary_path.is_file():
        raise LoadError(
            f"Locust exited with code {proc.returncode} and wrote no summary; see {log_file}:\n"
            f"{_tail(log_file)}"
        )
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return LoadResult(req, summary, proc.returncode, log_file)


@dataclass
class SweepResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    goodput_rate: float | None = None
    report_dir: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "goodput_rate": self.goodput_rate,
            "definition": "highest offered rate (requests/s) whose run met every SLO",
            "runs": self.rows,
        }


def _sweep_row(result: LoadResult, rate: float, options: LoadOptions) -> dict[str, Any]:
    fig = result.summary["figures"]["all"]
    samples = read_samples(result.request.report_dir / SAMPLES_FILE)
    window = fig["window_s"] or 1.0
    good = sum(1 for s in samples if options.slo.request_ok(s)) if options.slo else fig["succeeded"]

    def p(name: str, q: str) -> float | None:
        dist = fig.get(name)
        return dist["percentiles"][q] if dist else None

    return {
        "rate": rate,
        "passed": result.slo_passed,
        "verdict": result.verdict,
        "send_rate": fig["send_rate"],
        "request_rate": fig["request_rate"],
        "goodput_requests_per_s": good / window,
        "error_rate": fig["error_rate"],
        "ttft_p50": p("ttft_s", "p50"),
        "ttft_p99": p("ttft_s", "p99"),
        "itl_p50": p("itl_s", "p50"),
        "itl_p99": p("itl_s", "p99"),
        "e2e_p50": p("e2e_s", "p50"),
        "e2e_p99": p("e2e_s", "p99"),
        "report_dir": str(result.request.report_dir),
    }


def run_sweep(base: LoadRequest, rates: Sequence[float], *, keep_going: bool = False) -> SweepResult:
    """Open-loop runs at each rate (rising) until one misses the SLO; goodput = last rate that met it."""
    require_load_extra()
    out = SweepResult(report_dir=base.report_dir)
    prepare_report_dir(base.report_dir)
    for rate in rates:
        opts = [o for o in _without_rate(base.options)] + ["--rate", f"{rate:g}"]
        req = LoadRequest(
            url=base.url,
            scenario=base.scenario,
            users=base.users,
            duration_s=base.duration_s,
            report_dir=base.report_dir / f"rate-{rate:g}",
            processes=base.processes,
            spawn_rate=base.spawn_rate,
            options=tuple(opts),
            api_key=base.api_key,
        )
        options = req.checked_options()
        result = run_load(req)
        row = _sweep_row(result, rate, options)
        out.rows.append(row)
        if row["passed"]:
            out.goodput_rate = rate
        elif not keep_going:
            break
    (base.report_dir / "sweep.json").write_text(json.dumps(out.to_dict(), indent=2) + "\n", encoding="utf-8")
    plot_sweep(out, base.report_dir / "sweep.png")
    return out


def _without_rate(options: Sequence[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for word in options:
        if skip:
            skip = False
            continue
        if word == "--rate":
            skip = True
            continue
        if word.startswith("--rate="):
            continue
        out.append(word)
    return out


def plot_sweep(result: SweepResult, path: Path) -> Path | None:
    """Latency percentiles and goodput against the offered rate."""
    if not result.rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = [r["rate"] for r in result.rows]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    for key, style in (
        ("ttft_p50", "b-"),
        ("ttft_p99", "b:"),
        ("e2e_p50", "k-"),
        ("e2e_p99", "k:"),
        ("itl_p50", "m-"),
        ("itl_p99", "m:"),
    ):
        ys = [r[key] * 1000 if r[key] is not None else math.nan for r in result.rows]
        ax1.plot(rates, ys, style, marker="o", label=key)
    ax1.set_yscale("log")
    ax1.set_ylabel("latency (ms)")
    ax1.legend(fontsize=8)
    ax1.grid(True, alpha=0.3)
    ax2.plot(
        rates, [r["goodput_requests_per_s"] for r in result.rows], "g-o", label="goodput (req/s within SLO)"
    )
    ax2.plot(rates, [r["request_rate"] for r in result.rows], "k--", label="completed req/s")
    ax2.plot(rates, rates, ":", color="grey", label="offered")
    if result.goodput_rate is not None:
        ax2.axvline(result.goodput_rate, color="g", alpha=0.4)
    ax2.set_xlabel("offered rate (requests/s)")
    ax2.set_ylabel("requests/s")
    ax2.legend(fontsize=8)
    ax2.grid(True, alpha=0.3)
    fig.suptitle(f"Rate sweep: goodput {result.goodput_rate or 0:g} req/s")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
