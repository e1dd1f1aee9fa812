"""Runs Locust for `orchestrator load`: in a subprocess, then reads the summary it wrote.

Why a subprocess: `import locust` monkey-patches the interpreter with gevent (sockets, threads, time), which must
never happen inside the CLI or a test process, and `--processes N` forks anyway. The child is
`python -m locust -f orchestrator/load/locustfile.py --headless ...` with our options (`locust_command.py`); its
output goes to `<report dir>/locust.log`, its reports into the report directory (`locust_process.py` runs it and
stops it cleanly on Ctrl-C). What a run is asked and gives: `request.py`. Sweeps, a series of such runs: `sweep.py`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

from orchestrator.load.distributed import GAVE_UP_LINE, Distributed, worker_command
from orchestrator.load.engines import ENGINE_ENV, detect_engine, wire_for
from orchestrator.load.locust_command import LOCUSTFILE, build_command, child_env, child_env_for_key
from orchestrator.load.locust_process import LocustInterrupted, LocustTimeout, run_locust
from orchestrator.load.outcome import INTERRUPTED_EXIT_CODE
from orchestrator.load.report import SUMMARY_FILE
from orchestrator.load.request import LoadError, LoadRequest, LoadResult

__all__ = ["prepare_report_dir", "require_load_extra", "run_load", "run_worker"]


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


def run_load(req: LoadRequest, *, timeout_s: float | None = None) -> LoadResult:
    """Run Locust to the end (or until Ctrl-C) and return its summary; raise `LoadError` if it produced none,
    `LocustInterrupted` (exit 130) when interrupted before it wrote one."""
    require_load_extra()
    req.checked_options()
    try:
        engine = wire_for(req.engine or detect_engine(req.url, req.api_key)).kind
        engine_b = wire_for(detect_engine(req.args.url_b, req.api_key)).kind if req.args.url_b else ""
    except ValueError as exc:
        raise LoadError(str(exc)) from None
    # the engines ride with the options, so workers on other hosts (`--master`) speak the right routes too
    req = dataclasses.replace(
        req, options=dataclasses.replace(req.args, tgi_engine=engine, tgi_engine_b=engine_b)
    )
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
        limit = req.duration_s + 120 + (req.distributed.wait_s if req.distributed else 0.0)
    with log:
        try:
            env = {**child_env(req), ENGINE_ENV: engine}
            done = run_locust(cmd, log, env, timeout_s=limit, log_file=log_file)
        except LocustTimeout as exc:
            raise LoadError(f"{exc}:\n{_tail(log_file)}") from None
    if not summary_path.is_file():
        if done.interrupted:
            raise LocustInterrupted(f"interrupted before Locust wrote a report; see {log_file}")
        if req.distributed is not None and GAVE_UP_LINE in _tail(log_file):
            raise LoadError(req.distributed.gave_up_message())
        raise LoadError(
            f"Locust exited with code {done.returncode} and wrote no summary; see {log_file}:\n"
            f"{_tail(log_file)}"
        )
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return LoadResult(req, summary, done.returncode, log_file, interrupted=done.interrupted)


def run_worker(dist: Distributed, *, processes: int = 1, api_key: str | None = None) -> int:
    """Serve a master on another host until it quits (Locust's output on stderr); returns Locust's exit code,
    130 when interrupted. The API key, if any, goes to the Locust processes in their environment only."""
    require_load_extra()
    dist.check()
    if processes < 1:
        raise LoadError(f"--processes {processes} must be at least 1")
    env = child_env_for_key(api_key)
    done = run_locust(
        worker_command(dist, LOCUSTFILE, processes),
        sys.stderr,
        env,
        timeout_s=None,
        log_file=Path("<stderr>"),
    )
    return INTERRUPTED_EXIT_CODE if done.interrupted else done.returncode
