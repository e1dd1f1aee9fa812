"""Runs Locust for `orchestrator load`: in a subprocess, then reads the summary it wrote.

Why a subprocess: `import locust` monkey-patches the interpreter with gevent (sockets, threads, time), which must
never happen inside the CLI or a test process, and `--processes N` forks anyway. The child is
`python -m locust -f orchestrator/load/locustfile.py --headless ...` with our options; its output goes to
`<report dir>/locust.log`, its reports into the report directory (`locust_process.py` runs it and stops it
cleanly on Ctrl-C). Sweeps, a series of such runs: `sweep.py`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.load.locust_process import LocustInterrupted, LocustTimeout, run_locust
from orchestrator.load.options import API_KEY_ENV, LoadOptionError, LoadOptions, add_arguments
from orchestrator.load.outcome import INTERRUPTED_EXIT_CODE, SLO_EXIT_CODE
from orchestrator.load.prompts import PromptError
from orchestrator.load.report import SUMMARY_FILE

__all__ = [
    "SCENARIOS",
    "LoadError",
    "LoadRequest",
    "LoadResult",
    "build_command",
    "parse_duration",
    "parse_rates",
    "prepare_report_dir",
    "require_load_extra",
    "run_load",
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
    duration_s: float | None
    """None: no run time (a `--requests` run ends when its requests are answered)"""
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
        if self.duration_s is not None and self.duration_s <= 0:
            raise LoadError(f"--duration {self.duration_s:g} s must be above zero")
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
        if self.duration_s is None and not options.requests and options.shape is None:
            raise LoadError("give --duration, --requests or both (the run stops at whichever comes first)")
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
        "--csv", str(req.report_dir / "locust"),
        "--html", str(req.report_dir / "report.html"),
        "--report-dir", str(req.report_dir),
        "--only-summary",
        "--loglevel", "INFO",
    ]  # fmt: skip
    if req.duration_s is not None:
        cmd += ["--tgi-run-time", f"{req.duration_s:g}"]  # exact: Locust's -t takes whole seconds
    if req.processes > 1:
        # the master's port for its workers: a free one, not Locust's fixed 5557, so two runs can share a host
        port = str(_free_port())
        cmd += ["--processes", str(req.processes), "--master-bind-port", port, "--master-port", port]
    cmd += list(req.options)
    cmd += list(SCENARIOS[req.scenario])
    return cmd


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LoadResult:
    request: LoadRequest
    summary: dict[str, Any]
    exit_code: int
    """Locust's own exit status"""
    log_file: Path
    interrupted: bool = False
    """Ctrl-C reached `orchestrator load` during the run"""

    @property
    def slo_passed(self) -> bool:
        return bool(self.summary.get("slo", {}).get("passed", True))

    @property
    def verdict(self) -> str:
        return str(self.summary.get("slo", {}).get("verdict", "SLO: none set"))

    @property
    def outcome(self) -> dict[str, Any]:
        return dict(self.summary.get("outcome") or {})

    @property
    def problems(self) -> list[str]:
        """Why the requests count as failed (`outcome.py`); empty when they do not."""
        return list(self.outcome.get("problems", []))

    @property
    def command_exit_code(self) -> int:
        """What `orchestrator load` exits with: 130 interrupted, 7 requests failed, 5 SLO missed, else 0."""
        if self.interrupted:
            return INTERRUPTED_EXIT_CODE
        if "exit_code" in self.outcome:
            return int(self.outcome["exit_code"])
        return 0 if self.slo_passed else SLO_EXIT_CODE


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
    """Run Locust to the end (or until Ctrl-C) and return its summary; raise `LoadError` if it produced none,
    `LocustInterrupted` (exit 130) when interrupted before it wrote one."""
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
    limit = timeout_s
    if limit is None and req.duration_s is not None:
        limit = req.duration_s + 120
    with log:
        try:
            done = run_locust(cmd, log, _child_env(req), timeout_s=limit, log_file=log_file)
        except LocustTimeout as exc:
            raise LoadError(f"{exc}:\n{_tail(log_file)}") from None
    if not summary_path.is_file():
        if done.interrupted:
            raise LocustInterrupted(f"interrupted before Locust wrote a report; see {log_file}")
        raise LoadError(
            f"Locust exited with code {done.returncode} and wrote no summary; see {log_file}:\n"
            f"{_tail(log_file)}"
        )
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return LoadResult(req, summary, done.returncode, log_file, interrupted=done.interrupted)
