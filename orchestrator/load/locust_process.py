"""The Locust child process of `orchestrator load`: started, waited for, and stopped cleanly on Ctrl-C.

The child runs in its own session, so a Ctrl-C in the terminal reaches only this process (which would otherwise
die with the child killed mid-write: no summary, a KeyboardInterrupt traceback in `locust.log`). On Ctrl-C this
process sends the child SIGTERM, which Locust handles by quitting: the plug-in stops the load, counts the
requests in flight as unfinished and writes the report, marked interrupted. A second Ctrl-C abandons the report
and kills the child's whole process group (workers included).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from orchestrator.errors import OrchestratorError
from orchestrator.load.outcome import INTERRUPTED_EXIT_CODE

__all__ = ["LocustExit", "LocustInterrupted", "run_locust"]

STOP_GRACE_S = 60.0
"""How long an interrupted Locust gets to stop its users, collect its workers' samples and write the report."""


class LocustInterrupted(OrchestratorError):
    """Interrupted before Locust could write a report (or a second Ctrl-C abandoned it)."""

    exit_code = INTERRUPTED_EXIT_CODE


class LocustTimeout(OrchestratorError):
    """Locust ran past its time limit (run time + 120 s) and was killed."""

    exit_code = 2


@dataclass(frozen=True)
class LocustExit:
    returncode: int
    interrupted: bool


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_locust(
    cmd: Sequence[str], log: IO[str], env: dict[str, str], *, timeout_s: float | None, log_file: Path
) -> LocustExit:
    """Run `cmd` to its end (output into `log`); on Ctrl-C stop it gracefully and report that it was interrupted."""
    proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        code = proc.wait(timeout=timeout_s)
        _kill_group(
            proc
        )  # workers of --processes whose master died early (e.g. its port taken) stay otherwise
        return LocustExit(code, interrupted=False)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise LocustTimeout(f"Locust did not finish within {timeout_s:.0f} s; see {log_file}") from None
    except KeyboardInterrupt:
        _say(
            "Interrupted: stopping the load and writing the report of what finished (Ctrl-C again to abandon it)"
        )
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(timeout=STOP_GRACE_S)
        except KeyboardInterrupt:
            _kill_group(proc)
            raise LocustInterrupted(
                f"interrupted twice: Locust was killed, its report is incomplete; see {log_file}"
            ) from None
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise LocustInterrupted(
                f"interrupted: Locust did not stop within {STOP_GRACE_S:.0f} s and was killed; see {log_file}"
            ) from None
        _kill_group(proc)  # workers of --processes that outlived their master, if any
        return LocustExit(code, interrupted=True)
