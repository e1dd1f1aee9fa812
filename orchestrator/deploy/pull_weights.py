"""`up`'s pull: `orchestrator pull`'s library (`orchestrator.weights.pull`), reported as `up` info lines.

`up` shows one line per file fetched or found cached and one per verdict, not the live per-byte display of
`orchestrator pull` (the start-up display owns the terminal); errors are `pull`'s own (`PullError`, exit 8).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.weights import PullEvent

__all__ = ["pull_for_up"]


def _line(event: PullEvent) -> str | None:
    if event.kind == "plan" and event.plan is not None:
        plan = event.plan
        return (
            f"weights: {plan.snapshot.repo_id} {plan.snapshot.revision} = {plan.snapshot.commit}, "
            f"{len(plan.snapshot.files)} files, {plan.download_bytes:,} bytes to fetch"
        )
    if event.kind == "file" and event.state in {"done", "cached"}:
        return f"weights: {event.path} {'fetched' if event.state == 'done' else 'already cached'} ({event.total:,} bytes)"
    if event.kind in {"retry", "verified"} and event.message:
        return f"weights: {event.message}"
    return None


def pull_for_up(settings: Settings, revision: str, say: Callable[[str], None]) -> None:
    """Pull `revision` of the model into the cache `up` mounts (files already complete are not fetched)."""
    from orchestrator.weights import pull

    def report(event: PullEvent) -> None:
        line = _line(event)
        if line is not None:
            say(line)

    result = pull(settings, revision=revision, progress=report)
    say(f"weights: {result.verified} files verified in {result.seconds:.1f}s")
