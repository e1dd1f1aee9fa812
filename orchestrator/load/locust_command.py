"""The command line and environment of the Locust child process that `orchestrator load` starts."""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import replace
from pathlib import Path

from orchestrator.load.declaration import to_argv
from orchestrator.load.options import API_KEY_ENV
from orchestrator.load.request import SCENARIOS, LoadRequest

__all__ = ["LOCUSTFILE", "build_command", "child_env", "child_env_for_key"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def build_command(req: LoadRequest) -> list[str]:
    """The Locust command line for `req` (checked by `req.checked_options()` first)."""
    # A/B: --users per server, so twice as many Locust users, half on each (`runtime.next_lane`)
    users = req.users * (2 if req.args.url_b else 1)
    spawn = req.spawn_rate if req.spawn_rate else max(float(users), 1.0) * 10
    cmd = [
        sys.executable, "-m", "locust",
        "-f", str(LOCUSTFILE),
        "--headless",
        "--host", req.url,
        "-u", str(users),
        "-r", f"{spawn:g}",
        "--csv", str(req.report_dir / "locust"),
        "--html", str(req.report_dir / "report.html"),
        "--only-summary",
        "--loglevel", "INFO",
    ]  # fmt: skip
    if req.distributed is not None:
        cmd += req.distributed.master_args()
    elif req.processes > 1:
        # the master's port for its workers: a free one, not Locust's fixed 5557, so two runs can share a host
        port = str(_free_port())
        cmd += ["--processes", str(req.processes), "--master-bind-port", port, "--master-port", port]
    # the exact run time is ours (Locust's -t takes whole seconds); the report directory is the run's
    ours = replace(req.args, report_dir=str(req.report_dir), tgi_run_time=req.duration_s or 0.0)
    cmd += to_argv(ours)
    cmd += list(SCENARIOS[req.scenario])
    return cmd


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(req: LoadRequest) -> dict[str, str]:
    """This process's environment, plus the API key when there is one (the environment, unlike argv, is not
    visible to other users in the process list)."""
    return child_env_for_key(req.api_key)


def child_env_for_key(api_key: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if api_key:
        env[API_KEY_ENV] = api_key
    return env
