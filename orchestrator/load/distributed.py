"""Load from several hosts with Locust's own master/worker protocol: what each side is started with.

The master is an ordinary `orchestrator load` run (options, report, SLO gate) whose Locust process listens for
workers instead of forking them (`--processes`); each worker host runs `orchestrator load --worker`, which takes
the target, the options and its share of the schedule from the master's spawn message. Samples travel back in
the workers' stats reports exactly as with `--processes` (`collector.py`), so the merged figures are those of
every request. The protocol (ZeroMQ on one TCP port, 5557 unless `--master-port`) has no authentication: the
master binds to loopback unless told otherwise, and the port should be open only to the worker hosts. The API
key never travels: each worker host reads its own (`ORCHESTRATOR_SECRETS__API_KEY`).
"""

from __future__ import annotations

import ipaddress
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from orchestrator.errors import OrchestratorError

__all__ = [
    "DEFAULT_MASTER_PORT",
    "GAVE_UP_LINE",
    "Distributed",
    "DistributedError",
    "worker_command",
]

DEFAULT_MASTER_PORT = 5557
"""Locust's own default, so a plain `locust --worker` can join too."""
GAVE_UP_LINE = "Gave up waiting for workers to connect"
"""What Locust's master logs when `--expect-workers` did not connect in time."""
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


class DistributedError(OrchestratorError):
    """A master/worker option is wrong (exit 2, like every bad load option)."""

    exit_code = 2


@dataclass(frozen=True)
class Distributed:
    """One side of a multi-host run."""

    role: Literal["master", "worker"]
    master_port: int = DEFAULT_MASTER_PORT
    expect_workers: int = 1
    """Master: how many worker processes to wait for before the load starts."""
    bind: str = "127.0.0.1"
    """Master: the interface workers connect to (`0.0.0.0` for every interface)."""
    wait_s: float = 120.0
    """Master: how long to wait for the workers."""
    master_host: str = ""
    """Worker: where the master listens."""

    def check(self) -> None:
        """Raise `DistributedError` naming the option, the value and the fix."""
        if not 1 <= self.master_port <= 65535:
            raise DistributedError(
                f"--master-port {self.master_port} is not a TCP port; pass 1-65535 (default 5557)"
            )
        if self.role == "master":
            if self.expect_workers < 1:
                raise DistributedError(
                    f"--expect-workers {self.expect_workers}: a master needs at least 1 worker; "
                    "for one host use --processes instead"
                )
            if self.wait_s <= 0:
                raise DistributedError(f"--worker-wait {self.wait_s:g} must be above zero seconds")
            _check_host("--master-bind", self.bind)
        else:
            if not self.master_host:
                raise DistributedError("--worker needs --master-host: the master's address (host name or IP)")
            _check_host("--master-host", self.master_host)

    def master_args(self) -> list[str]:
        """Locust options of the master's process (instead of `--processes`)."""
        return [
            "--master",
            "--expect-workers", str(self.expect_workers),
            "--expect-workers-max-wait", f"{self.wait_s:g}",
            "--master-bind-host", self.bind,
            "--master-bind-port", str(self.master_port),
        ]  # fmt: skip

    def gave_up_message(self) -> str:
        return (
            f"the master waited {self.wait_s:g} s for {self.expect_workers} worker(s) and gave up: start them with "
            f"`orchestrator load --worker --master-host <this host> --master-port {self.master_port}`, make sure "
            f"the master listens where they can reach it (--master-bind, now {self.bind}) and that TCP port "
            f"{self.master_port} is open from the worker hosts"
        )


def worker_command(dist: Distributed, locustfile: Path, processes: int = 1) -> list[str]:
    """The Locust command line of a worker host: no target or options of its own, they come from the master."""
    cmd = [
        sys.executable, "-m", "locust",
        "-f", str(locustfile),
        "--worker",
        "--master-host", dist.master_host,
        "--master-port", str(dist.master_port),
        "--loglevel", "INFO",
    ]  # fmt: skip
    if processes > 1:
        cmd += ["--processes", str(processes)]
    return cmd


def _check_host(option: str, value: str) -> None:
    if value in ("*", "0.0.0.0", "::"):
        return
    try:
        ipaddress.ip_address(value)
        return
    except ValueError:
        pass
    if not _HOST.match(value):
        raise DistributedError(
            f"{option} {value!r} is not a host name or IP address; e.g. 10.0.0.5 or loadgen-1"
        )
