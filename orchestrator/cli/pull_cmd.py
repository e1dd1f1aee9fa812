"""`orchestrator pull`: parse, call `orchestrator.weights.pull`, render. Exit 8 when the weights cannot be pulled.

No `from __future__ import annotations` here: typer must see the real `Annotated` options.
"""

import json
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.cli.options import settings_command

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings

__all__ = ["register"]

HELP = (
    "Download the model's snapshot to this host, into the cache the deployment mounts, verified file by file.\n\n"
    "Files come through huggingface_hub from HF_ENDPOINT (default https://huggingface.co) into host.cache_dir/hub "
    "(TGI reads it as /data/hub), in huggingface_hub's cache layout. First a dry run: the exact bytes still to "
    "fetch, checked against free disk (--dry-run stops there).\n\n"
    "Files already complete are not fetched again; a cut connection is resumed and retried; after Ctrl-C the next "
    "pull goes on from the files that were complete (a file cut short starts again from its first byte). Every "
    "file is then checked against the Hub's tree (sha256 for LFS files, the git blob id for others); a mismatch "
    "is named and removed from the snapshot.\n\n"
    "The token comes from ORCHESTRATOR_SECRETS__HF_TOKEN, HF_TOKEN or huggingface_hub's saved login, and goes "
    "only to the Hub.\n\n"
    "Exit 0 done, 2 bad settings, 8 the pull failed (cause and fix printed), 130 interrupted. See docs/weights.md."
)


def _fail(exc: Exception, as_json: bool) -> None:
    from orchestrator.errors import OrchestratorError
    from orchestrator.weights.errors import PullError

    code = exc.exit_code if isinstance(exc, OrchestratorError) else 1
    cause = exc.cause if isinstance(exc, PullError) else ""
    fix = exc.fix if isinstance(exc, PullError) else ""
    if as_json:
        data: dict[str, Any] = {
            "event": "error",
            "exit_code": code,
            "kind": type(exc).__name__,
            "error": str(exc),
        }
        data.update(cause=cause, fix=fix)
        print(json.dumps(data), flush=True)
        return
    print(f"Error: {exc}", file=sys.stderr)
    if cause:
        print(f"Cause: {cause}", file=sys.stderr)
    if fix:
        print(f"Fix:   {fix}", file=sys.stderr)


def pull_cmd(
    *,
    settings: "Settings",
    revision: Annotated[
        str | None,
        typer.Option("--revision", help="Branch, tag or commit (default: model.revision, else main)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="List the files, the bytes to fetch and the free disk; fetch nothing."
        ),
    ] = False,
    no_verify: Annotated[
        bool,
        typer.Option(
            "--no-verify", help="Check sizes only, not hashes (no spare CPU core for hashing every byte)."
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON event per line (plan, file, progress, ...).")
    ] = False,
) -> None:
    from orchestrator.cli.pull_progress import describe_plan, make_pull_reporter
    from orchestrator.errors import OrchestratorError
    from orchestrator.weights.pull import PullInterrupted, pull

    reporter = make_pull_reporter("json" if as_json else ("plain" if dry_run else "auto"))
    if dry_run and not as_json:
        reporter = _Silent()
    try:
        result = pull(settings, revision=revision, dry_run=dry_run, verify=not no_verify, progress=reporter)
    except OrchestratorError as exc:
        reporter.close()
        _fail(exc, as_json)
        raise typer.Exit(code=exc.exit_code) from None
    except PullInterrupted as exc:
        reporter.close()
        if as_json:
            print(json.dumps({"event": "interrupted", "exit_code": 130, "kept": exc.kept}), flush=True)
        print(f"Interrupted: {exc.kept}.", file=sys.stderr, flush=True)
        if not exc.settled:  # a download thread still blocked on the network would hold the exit
            os._exit(130)
        raise typer.Exit(code=130) from None
    reporter.close()
    if as_json:
        print(json.dumps({"event": "result", **result.to_json()}), flush=True)
    elif dry_run:
        print("\n".join(describe_plan(result.plan)))
    else:
        fetched = (
            f"fetched {len(result.fetched)} files ({result.fetched_bytes:,} bytes)"
            if result.fetched
            else "nothing to fetch"
        )
        print(
            f"{result.plan.snapshot.repo_id} @ {result.plan.snapshot.revision}: {fetched} in {result.seconds:.1f}s, "
            f"{result.verified} files verified; snapshot at {result.plan.snapshot_dir}"
        )


class _Silent:
    def __call__(self, event: object) -> None:
        return None

    def close(self) -> None:
        return None


def register(app: typer.Typer) -> None:
    """Add `pull` to `app`."""
    app.command("pull", help=HELP)(settings_command(pull_cmd))
