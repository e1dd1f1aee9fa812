"""What Ctrl-C during `up` left behind, asked of the engine rather than guessed from what `up` was doing.

`up` keeps a `Trail` of its current step and the container it touches. On Ctrl-C `interrupted` asks the engine
what is there: a removal cut short by a second Ctrl-C is asked for again and waited for, and a create request cut
short (the engine finishes it without the client) is watched for a moment and removed if it lands.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.runtime.containers import ContainerInfo, DockerRuntime

__all__ = ["CREATE_SETTLE_SECONDS", "Trail", "UpInterrupted", "finish_removal", "interrupted"]


class UpInterrupted(KeyboardInterrupt):
    """Ctrl-C during `up`; `left` says in words what is there afterwards (the CLI prints it), and `leftover`
    names a container this `up` created or was replacing that is still there (`orchestrator down` removes it)."""

    def __init__(self, left: str, leftover: str | None = None) -> None:
        super().__init__(left)
        self.left = left
        self.leftover = leftover


class Trail:
    """What `up` is doing, kept current step by step, and which container it touches, for `UpInterrupted`.

    Words alone cannot say what a second Ctrl-C cut short (a removal the engine finished anyway), so once a
    container is involved the engine is asked afterwards (`interrupted`).
    """

    def __init__(self) -> None:
        self.left = "nothing was created (interrupted before any container or pull was started)"
        self.engine: DockerRuntime | None = None
        self.container: str | None = None
        self.step = ""
        self.predates = False
        self.removing = False  # a clean-up removal is under way (a second Ctrl-C may cut it short)
        # a create request was cut short: the engine may still be creating the container
        self.creating = False

    def touch(self, engine: DockerRuntime, container: str, step: str, *, predates: bool = False) -> None:
        self.engine, self.container, self.step, self.predates = engine, container, step, predates


def finish_removal(engine: DockerRuntime, name: str, wait: float = 10.0) -> ContainerInfo | None:
    """A removal cut short by a second Ctrl-C may or may not have reached the engine, so what is left would be a
    guess: ask again (a forced removal is idempotent; one already in progress is waited for), then look."""
    engine.remove(name, force=True)
    deadline = time.monotonic() + wait
    found = engine.inspect(name)
    while found is not None and time.monotonic() < deadline:
        time.sleep(0.1)
        found = engine.inspect(name)
    return found


CREATE_SETTLE_SECONDS = 3.0
"""How long a create request cut short by Ctrl-C is given to land on the engine (it goes on without the client)."""


def _settle_creation(engine: DockerRuntime, trail: Trail, name: str) -> ContainerInfo | None:
    """The client gave up on a create, the engine may not have: watch for the container to appear, remove it."""
    deadline = time.monotonic() + CREATE_SETTLE_SECONDS
    found = engine.inspect(name)
    while found is None and time.monotonic() < deadline:
        time.sleep(0.1)
        found = engine.inspect(name)
    if found is None:
        return None
    found = finish_removal(engine, name)
    trail.step += "; the engine finished creating it after the interrupt, " + (
        "and it was removed" if found is None else "and it could not be removed"
    )
    return found


def interrupted(trail: Trail) -> UpInterrupted:
    """What is really there after Ctrl-C: the engine's answer for the container `up` touched, if any."""
    name, engine = trail.container, trail.engine
    if name is None or engine is None:
        return UpInterrupted(trail.left)
    try:
        found = _settle_creation(engine, trail, name) if trail.creating else engine.inspect(name)
        if found is not None and trail.removing:
            found = finish_removal(engine, name)
            trail.step += "; the removal was finished" if found is None else "; it could not be removed"
    except (Exception, KeyboardInterrupt):
        return UpInterrupted(
            f"container {name} may be left ({trail.step}; the engine could not be asked)",
            leftover=name,
        )
    if trail.predates:
        state = (
            "still running" if found is not None and found.running else (found.status if found else "gone")
        )
        return UpInterrupted(
            f"the existing container {name} (started before this command) was left as it was, {state}"
        )
    if found is None and trail.removing:
        with contextlib.suppress(Exception, KeyboardInterrupt):
            engine.remove_secrets(name)  # the cut-short clean-up did not get to its secret files
    if found is None:
        return UpInterrupted(f"no container {name} is left ({trail.step})")
    return UpInterrupted(f"container {name} is left, {found.status} ({trail.step})", leftover=name)
