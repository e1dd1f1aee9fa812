"""`orchestrator up / down / status (ps) / logs`: parse, call `orchestrator.deploy.lifecycle`, render.

No `from __future__ import annotations` here: typer must see the real `Annotated` options.

Heavy imports (docker, rich, pydantic-settings) happen inside the commands so `orchestrator --help` stays fast.
Exit codes: 0 ok, 2 invalid settings or no deployment of that --name, 3 engine unavailable or unsuitable,
4 deployment failed.
"""

import json
import shlex
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.cli.options import exit_on_errors, print_error, settings_command

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.deploy.lifecycle import DeploymentStatus

__all__ = ["register"]

_JSON = Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON).")]
_NAME = Annotated[
    str | None, typer.Option("--name", help="Deployment name (default: host.container_name from settings).")
]


def _default_name() -> str:
    """The configured container name; settings need not be valid just to find a deployment."""
    from orchestrator.config.loading import load_settings
    from orchestrator.errors import ConfigError

    try:
        return load_settings(validate=False).host.container_name
    except ConfigError:
        return "tgi-mistral"


def _secrets_of_env() -> tuple[str, ...]:
    from orchestrator.config.loading import load_settings
    from orchestrator.errors import ConfigError

    try:
        secrets = load_settings(validate=False).secrets
    except ConfigError:
        return ()
    return secrets.values()


def _print_failure(exc: Exception, as_json: bool) -> None:
    from orchestrator.errors import DeploymentError, OrchestratorError

    code = exc.exit_code if isinstance(exc, OrchestratorError) else 1
    if as_json:
        data: dict[str, Any] = {
            "event": "error",
            "exit_code": code,
            "error": str(exc),
            "kind": type(exc).__name__,
        }
        if isinstance(exc, DeploymentError):
            data.update(cause=exc.cause, fix=exc.fix, log_tail=exc.log_tail)
        print(json.dumps(data), flush=True)
        return
    print_error(exc)


def _print_interrupted(exc: KeyboardInterrupt, as_json: bool) -> None:
    """`deploy.up` raises `UpInterrupted`: what the engine holds afterwards, and the command to remove a leftover."""
    left = getattr(exc, "left", None) or "check `orchestrator status` for what was left"
    leftover: str | None = getattr(exc, "leftover", None)
    remove = f"orchestrator down --name {shlex.quote(leftover)}" if leftover else None
    if as_json:
        event = {
            "event": "interrupted",
            "exit_code": 130,
            "left": left,
            "leftover": leftover,
            "remove": remove,
        }
        print(json.dumps(event), flush=True)
    print(f"Interrupted: {left}.", file=sys.stderr)
    if remove:
        print(f"Remove it with: {remove}", file=sys.stderr)


def up_cmd(
    *,
    settings: "Settings",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the equivalent `docker run` and stop.")
    ] = False,
    recreate: Annotated[
        bool, typer.Option("--recreate", help="Replace a running deployment whose settings differ.")
    ] = False,
    keep_failed: Annotated[
        bool, typer.Option("--keep-failed", help="Leave a failed container in place for inspection.")
    ] = False,
    as_json: _JSON = False,
) -> None:
    """Start TGI or vLLM (--engine; or an emulator image) and wait until it is ready: pull, start, download, load,
    warm up."""
    if dry_run:
        from orchestrator.deploy.gpu_count import gpu_count_for_plan
        from orchestrator.launch.docker_command import render_docker_run
        from orchestrator.launch.plan import build_plan

        with exit_on_errors():
            print(render_docker_run(build_plan(settings, gpu_count=gpu_count_for_plan(settings))))
        return
    from orchestrator.cli.progress import make_reporter
    from orchestrator.deploy.lifecycle import up
    from orchestrator.errors import OrchestratorError

    reporter = make_reporter("json" if as_json else "auto")
    try:
        info = up(settings, recreate=recreate, keep_failed=keep_failed, progress=reporter)
    except OrchestratorError as exc:
        reporter.close()
        _print_failure(exc, as_json)
        raise typer.Exit(code=exc.exit_code) from None
    except KeyboardInterrupt as exc:
        reporter.close()
        _print_interrupted(exc, as_json)
        raise typer.Exit(code=130) from None
    reporter.close()
    if as_json:
        print(json.dumps({"event": "result", **info.to_json()}), flush=True)
        return
    what = {"unchanged": "already running (nothing to do)", "attached": "became ready"}.get(
        info.action, "ready"
    )
    took = f" in {info.ready_seconds:.1f}s" if info.ready_seconds is not None else ""
    print(f"{info.name}: {what}{took} at {info.endpoint} ({info.model}, {info.image})")


def down_cmd(
    name: _NAME = None,
    all_deployments: Annotated[bool, typer.Option("--all", help="Stop every deployment of ours.")] = False,
    grace: Annotated[
        float | None,
        typer.Option("--grace", min=0, help="Seconds to let TGI drain in-flight requests before killing it."),
    ] = None,
    as_json: _JSON = False,
) -> None:
    """Stop a deployment (SIGTERM, wait for TGI's drain, then kill) and remove it; the weights cache stays."""
    from orchestrator.deploy.lifecycle import down

    target = None if all_deployments else (name or _default_name())
    with exit_on_errors():
        removed = down(target, all_deployments=all_deployments, grace=grace)
    if as_json:
        print(json.dumps({"removed": removed}))
    elif removed:
        for item in removed:
            print(f"{item}: stopped and removed")
    else:
        print(f"nothing to stop ({'no deployments' if all_deployments else f'no deployment named {target}'})")


def _uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m{seconds % 60:02.0f}s"
    return f"{seconds // 3600:.0f}h{(seconds % 3600) // 60:02.0f}m"


def status_rows(rows: "list[DeploymentStatus]") -> list[list[str]]:
    """Table cells, one row per deployment (also used by tests)."""
    out = []
    for row in rows:
        info = row.info
        limits = row.limits
        tokens = (
            f"{limits['max_input_tokens']}/{limits['max_total_tokens']}"
            if "max_input_tokens" in limits and "max_total_tokens" in limits
            else "-"
        )
        load = (
            f"{row.queue_size if row.queue_size is not None else '-'}/"
            f"{row.running_batch if row.running_batch is not None else '-'}"
        ) + (f" kv {row.kv_cache_usage:.0%}" if row.kv_cache_usage is not None else "")
        out.append(
            [
                info.name,
                info.model or "-",
                info.image,
                row.phase,
                info.endpoint,
                _uptime(info.uptime_seconds),
                info.gpus or "-",
                tokens,
                load,
                kv_capacity_cell(row.kv_tokens_predicted, row.kv_tokens_reported),
            ]
        )
    return out


STATUS_HEADERS = [
    "NAME",
    "MODEL",
    "IMAGE",
    "PHASE",
    "ENDPOINT",
    "UPTIME",
    "GPUS",
    "IN/TOTAL TOK",
    "QUEUE/BATCH",
    "KV TOK PLAN/ENGINE",
]


def kv_capacity_cell(predicted: int | None, reported: int | None) -> str:
    """`1,046,675/1,001,472 (-4%)`: the planner's KV capacity beside the engine's, and what was lost."""
    left = f"{predicted:,}" if predicted is not None else "-"
    right = f"{reported:,}" if reported is not None else "-"
    if predicted and reported is not None:
        return f"{left}/{right} ({(reported - predicted) / predicted:+.0%})"
    return f"{left}/{right}"


def status_cmd(name: _NAME = None, as_json: _JSON = False) -> None:
    """List our deployments like `ollama ps`: phase, endpoint, uptime, token limits, queue and running batch."""
    from orchestrator.deploy.lifecycle import status

    with exit_on_errors():
        rows = status(name)
    if as_json:
        print(json.dumps([row.to_json() for row in rows], indent=2))
        return
    if not rows:
        print("no deployments (start one with `orchestrator up`)")
        return
    table = [STATUS_HEADERS, *status_rows(rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(STATUS_HEADERS))]
    for r in table:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip())


def logs_cmd(
    name: _NAME = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")
    ] = False,
    tail: Annotated[int | None, typer.Option("--tail", "-n", min=0, help="Only the last N lines.")] = None,
) -> None:
    """Print the deployment's logs (secrets masked)."""
    from orchestrator.deploy.lifecycle import logs

    target = name or _default_name()
    with exit_on_errors():
        try:
            for line in logs(target, follow=follow, tail=tail, secrets=_secrets_of_env()):
                print(line, flush=follow)
        except KeyboardInterrupt:
            return


def register(app: typer.Typer) -> None:
    """Add `up`, `down`, `status`, `ps` and `logs` to `app`."""
    app.command("up")(settings_command(up_cmd))
    app.command("down")(down_cmd)
    app.command("status")(status_cmd)
    app.command("ps", help="Alias of `status`.")(status_cmd)
    app.command("logs")(logs_cmd)
