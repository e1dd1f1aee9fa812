"""`up`'s weights step, before any container: pull the model into the cache (or check it offline), pin the
commit, and, with `--locked`, compare the cache, the image and the settings with the lock file.

Modes (`WeightsPolicy.mode`):
- `pull` (the CLI's default): `orchestrator pull`'s library fills the cache, then the engine starts offline
  (`HF_HUB_OFFLINE=1`) at the resolved commit, so the container never reaches the Hub;
- `offline` (`up --offline`): the Hub is not contacted; the cache must already hold every file the engine reads,
  else `CacheIncompleteError` names the missing ones before anything starts;
- `no-pull` (`up --no-pull`): as before this step existed: the engine downloads by itself, online (from this
  host's `HF_ENDPOINT` when one is set). With a lock there is nothing to download to, so `--locked --no-pull`
  checks the cache like `--offline`.
`lifecycle.up` without a policy keeps the old behaviour (the library default), like `no-pull`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from orchestrator.lock.cache import (
    CachedWeights,
    cached_commit,
    find_cached,
    host_hub_dir,
    requested_revision,
    write_commit_ref,
)
from orchestrator.lock.errors import Drift, LockDriftError
from orchestrator.lock.pinning import cache_drift, image_drift, settings_drift

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.launch.plan import LaunchPlan
    from orchestrator.lock.lockfile import LockFile
    from orchestrator.runtime.values import ImageIdentity

__all__ = [
    "Mode",
    "PullWeights",
    "WeightsPolicy",
    "check_locked",
    "plan_with_weights",
    "prepare_weights",
    "with_hub_endpoint",
]

Mode = Literal["pull", "no-pull", "offline"]
PullWeights = Callable[["Settings", str, Callable[[str], None]], None]
"""(settings, revision, say) -> None: fill the cache with `revision` of the model (`orchestrator pull`)."""


@dataclass(frozen=True)
class WeightsPolicy:
    """How `up` gets the weights to the engine; see the module docstring."""

    mode: Mode = "pull"
    lock: LockFile | None = None
    """With `--locked`: the lock to serve (its commit) and to compare against."""
    lock_path: str = "orchestrator.lock"
    pull: PullWeights | None = None
    """The pull to run (tests swap it); None: `orchestrator.weights`' own."""


def _default_pull(settings: Settings, revision: str, say: Callable[[str], None]) -> None:
    from orchestrator.deploy.pull_weights import pull_for_up

    pull_for_up(settings, revision, say)


def prepare_weights(
    settings: Settings, policy: WeightsPolicy, say: Callable[[str], None]
) -> tuple[CachedWeights | None, list[Drift]]:
    """The cached commit the engine will serve offline (None: it downloads by itself) and, when locked, how the
    cache differs from the lock. Unlocked, `CacheIncompleteError` names what the engine would lack offline."""
    lock = policy.lock
    if policy.mode == "no-pull" and lock is None:
        return None, []
    if settings.model.id.startswith("/") and lock is None:
        say(
            f"model.id {settings.model.id} is a path inside the container: nothing to pull, the engine reads it"
        )
        return None, []
    revision = lock.model.commit if lock is not None else requested_revision(settings)
    if policy.mode == "pull":
        say(f"pulling {settings.model.id} at {revision} into {host_hub_dir(settings)}")
        (policy.pull or _default_pull)(settings, revision, say)
    if lock is not None:
        weights, where = cached_commit(settings, lock.model.commit)
        drifts = cache_drift(lock, weights, str(where))
    else:
        weights, drifts = find_cached(settings), []
    if weights is not None and not drifts:
        if engine_needs_ref(settings):
            write_commit_ref(weights)
        say(f"serving {settings.model.id} at commit {weights.commit} from the cache, offline")
    return weights, drifts


def engine_needs_ref(settings: Settings) -> bool:
    from orchestrator.launch.plan import engine_launch

    return engine_launch(settings).commit_ref


def check_locked(
    settings: Settings, policy: WeightsPolicy, cache: list[Drift], image: ImageIdentity | None
) -> None:
    """Raise `LockDriftError` listing every drift (cache, image, settings) when locked; no-op otherwise."""
    if policy.lock is None:
        return
    drifts = [*cache, *image_drift(policy.lock, image), *settings_drift(policy.lock, settings)]
    if drifts:
        raise LockDriftError(drifts, policy.lock_path)


def with_hub_endpoint(plan: LaunchPlan, endpoint: str | None) -> LaunchPlan:
    """An engine that downloads by itself (`--no-pull`) uses the Hub this host uses: `HF_ENDPOINT` (a mirror, or
    the test stand-in) goes into its environment, as huggingface_hub in the engine reads it. No secret: a URL."""
    if not endpoint:
        return plan
    return replace(plan, environment={**plan.environment, "HF_ENDPOINT": endpoint})


def plan_with_weights(
    settings: Settings,
    policy: WeightsPolicy,
    gpu_count: int | None,
    *,
    say: Callable[[str], None],
    ensure_image: Callable[[str], None],
    identify: Callable[[str], ImageIdentity | None],
) -> LaunchPlan:
    """`up`'s step before the container: weights ready (`prepare_weights`), the launch plan at the served
    commit (offline), and with a lock the image present and every drift refused before anything starts."""
    from orchestrator.launch.plan import build_plan

    served, cache_drifts = prepare_weights(settings, policy, say)
    plan = build_plan(settings, gpu_count=gpu_count, offline_commit=served.commit if served else None)
    if served is None:
        plan = with_hub_endpoint(plan, os.environ.get("HF_ENDPOINT"))
    if policy.lock is not None:
        ensure_image(plan.image)
        check_locked(settings, policy, cache_drifts, identify(plan.image))
    return plan
