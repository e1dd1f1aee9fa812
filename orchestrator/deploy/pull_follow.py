"""Following an image pull during `up`: per-layer progress events, and a stall limit the SDK does not have.

The pull runs in a thread (the SDK blocks while the stream lasts); this thread forwards its progress, rate-limited
per layer, and gives up with `DeploymentError` when no byte arrives for `timeouts.stall_pull` or the start-up
deadline passes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from orchestrator.deploy.readiness import Phase, ProgressEvent, StartupTracker
from orchestrator.errors import DeploymentError

if TYPE_CHECKING:
    from orchestrator.runtime.containers import DockerRuntime, PullProgress

__all__ = ["follow_pull"]


def follow_pull(
    engine: DockerRuntime, image: str, tracker: StartupTracker, emit: Callable[[ProgressEvent], None]
) -> None:
    """Pull `image` (known to be missing), reporting progress; raises on a pull error, a stall or the deadline."""
    now = time.monotonic()
    tracker.phase = Phase.PULLING
    tracker.phase_started = tracker.last_activity = now
    emit(ProgressEvent("phase", Phase.PULLING, now - tracker.started, 0.0, f"pulling {image}"))
    events: queue.Queue[object] = queue.Queue()
    done = object()

    def work() -> None:
        try:
            engine.pull(image, on_progress=events.put)
            events.put(done)
        except BaseException as exc:  # handed to the waiting thread, which raises it
            events.put(exc)

    threading.Thread(target=work, daemon=True, name="image-pull").start()
    last_shown: dict[str, tuple[str, float]] = {}
    while True:
        try:
            item = events.get(timeout=0.5)
        except queue.Empty:
            item = None
        now = time.monotonic()
        if item is done:
            break
        if isinstance(item, BaseException):
            raise item
        if item is not None:
            tracker.activity(now)
            _emit_pull(emit, tracker, item, last_shown, now)  # type: ignore[arg-type]
        problem = tracker.stall(now)
        if problem is not None:
            raise DeploymentError(
                f"pulling {image} stalled: {problem}",
                cause="the registry or network stopped delivering the image",
                fix="check the network and registry, raise timeouts.stall_pull, or pull the image yourself "
                f"(`docker pull {image}`) and rerun",
            )
    # The next phase starts when the container does.
    tracker.phase = Phase.STARTING
    tracker.phase_started = tracker.last_activity = time.monotonic()


def _emit_pull(
    emit: Callable[[ProgressEvent], None],
    tracker: StartupTracker,
    item: PullProgress,
    last_shown: dict[str, tuple[str, float]],
    now: float,
) -> None:
    """Forward a pull event; byte-progress of one layer at most every 0.25 s, status changes always."""
    key = item.layer or "image"
    previous = last_shown.get(key)
    if previous is not None and previous[0] == item.status and now - previous[1] < 0.25:
        return
    last_shown[key] = (item.status, now)
    emit(
        ProgressEvent(
            "pull",
            Phase.PULLING,
            now - tracker.started,
            now - tracker.phase_started,
            message=item.status,
            layer=item.layer,
            current=item.current,
            total=item.total,
        )
    )
