"""`orchestrator rollout`, and what `up --dry-run` prints for replicas: parse, call the library, print.

No `from __future__ import annotations` here: typer must see the real `Annotated` options.
"""

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.cli.options import exit_on_errors, settings_command

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings

__all__ = ["print_replica_dry_run", "register"]


def print_replica_dry_run(settings: "Settings") -> None:
    """Each replica's `docker run`, then the balancer's configuration."""
    from orchestrator.launch.docker_command import render_docker_run
    from orchestrator.launch.replicas import replica_set

    plan = replica_set(settings)
    for note in plan.warnings:
        print(f"# warning: {note}")
    for replica in plan.replicas:
        print(f"# replica {replica.index} on port {replica.port}, GPU {replica.gpu or 'none'}")
        print(render_docker_run(replica.plan))
    balancer = plan.balancer
    print(f"# balancer {balancer.container_name} ({balancer.image}, host network), /etc/haproxy/haproxy.cfg:")
    print(balancer.config_text, end="")


def rollout_cmd(
    *,
    settings: "Settings",
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask when the restart cannot be zero-downtime.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON).")] = False,
) -> None:
    """Replace the running deployment's replicas one at a time with these settings, without dropping requests.

    Each replica is drained in the balancer (no new requests), its in-flight requests finish, it is stopped and
    replaced, and put back once ready. With one replica (no balancer), or when the balancer itself changes
    (another replica count or port), a restart cannot be zero-downtime: it asks first, or goes on with --yes.
    """
    from orchestrator.cli.progress import make_reporter
    from orchestrator.deploy.rolling_restart import needs_downtime, rollout
    from orchestrator.errors import OrchestratorError

    with exit_on_errors():
        downtime = needs_downtime(settings)
    if downtime and not yes:
        print(
            f"{settings.host.container_name}: a restart cannot be zero-downtime here (one replica, or the "
            "balancer changes): requests in flight are drained, new ones fail until it is ready again.",
            file=sys.stderr,
        )
        if not sys.stdin.isatty() or not typer.confirm("Restart anyway?", default=False, err=True):
            print("not restarted (pass --yes to restart without asking)", file=sys.stderr)
            raise typer.Exit(code=1)
    reporter = make_reporter("json" if as_json else "auto")
    try:
        info = rollout(settings, progress=reporter)
    except OrchestratorError as exc:
        reporter.close()
        from orchestrator.cli.options import print_error

        print_error(exc)
        raise typer.Exit(code=exc.exit_code) from None
    reporter.close()
    if as_json:
        print(json.dumps({"event": "result", **info.to_json()}), flush=True)
        return
    print(f"{info.name}: rolled out ({info.action}) at {info.endpoint}")


def register(app: typer.Typer) -> None:
    """Add `rollout` to `app`."""
    app.command("rollout")(settings_command(rollout_cmd))
