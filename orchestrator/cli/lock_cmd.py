"""`orchestrator lock`: parse, call `orchestrator.deploy.locking.lock`, print; and `up`'s weights options.

No `from __future__ import annotations` here: typer must see the real `Annotated` options.
Exit codes: 0 written or unchanged, 2 unreadable lock or bad settings, 3 cache incomplete or no engine.
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.cli.options import exit_on_errors, settings_command

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.deploy.weights_step import WeightsPolicy

__all__ = ["LOCK_FILE_OPTION", "register", "weights_policy"]

LOCK_FILE_OPTION = Annotated[
    Path,
    typer.Option(
        "--lock-file", metavar="PATH", help="The lock file to write or check (default: ./orchestrator.lock)."
    ),
]


def weights_policy(*, locked: bool, offline: bool, no_pull: bool, lock_file: Path) -> "WeightsPolicy":
    """`up`'s flags as a policy: pull first unless --no-pull; --offline never contacts the Hub; --locked serves
    the lock's commit and refuses drift (raises `LockFileError` when the lock cannot be read)."""
    from orchestrator.deploy.weights_step import Mode, WeightsPolicy
    from orchestrator.lock.lockfile import read_lock

    mode: Mode = "offline" if offline else "no-pull" if no_pull else "pull"
    pinned = read_lock(lock_file) if locked else None
    return WeightsPolicy(mode=mode, lock=pinned, lock_path=str(lock_file))


@settings_command
def lock_command(
    settings: "Settings",
    offline: Annotated[
        bool, typer.Option("--offline", help="Pin what the cache holds; never contact the Hub.")
    ] = False,
    lock_file: LOCK_FILE_OPTION = Path("orchestrator.lock"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the lock as written (JSON).")] = False,
) -> None:
    """Write or refresh orchestrator.lock: pull the model (unless --offline), then pin the resolved commit, each
    file's size and sha256, the engine version, the image digest (or local image id) and the settings hash.
    `orchestrator up --locked` then refuses to start when any of them differs."""
    from orchestrator.deploy.locking import lock
    from orchestrator.lock.lockfile import render_lock

    def say(text: str) -> None:
        if not as_json:
            print(text, flush=True)

    with exit_on_errors():
        result = lock(settings, path=lock_file, offline=offline, say=say)
    if as_json:
        print(
            json.dumps(
                {
                    "path": str(result.path),
                    "changed": result.changed,
                    "lock": json.loads(render_lock(result.lock)),
                }
            )
        )
        return
    model = result.lock.model
    what = "wrote" if result.changed else "unchanged:"
    print(
        f"{what} {result.path} ({model.repo} {model.requested_revision} = {model.commit}, {len(model.files)} files)"
    )


def register(app: typer.Typer) -> None:
    """Add `lock` to `app`."""
    app.command("lock")(lock_command)
