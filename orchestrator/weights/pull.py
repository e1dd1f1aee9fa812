"""`pull`: the model snapshot onto the host, into the cache the deployment mounts, verified file by file.

Steps: list the revision on the Hub (exact sizes, hashes) → dry run (what is cached, bytes to fetch, free
disk) → huggingface_hub's `snapshot_download` of that commit on a worker thread while this thread follows
each file (bytes, rate, ETA) and hashes it as it lands → every file checked against the tree, a mismatch
taken out of the snapshot → `refs/<revision>` written last, so an unfinished pull never looks complete.
"""

from __future__ import annotations

import shutil
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import ConfigError, ConfigProblem
from orchestrator.weights.cache import RepoCache
from orchestrator.weights.errors import (
    DiskFullError,
    HubUnreachableError,
    PullContext,
    PullError,
    VerificationError,
    explain,
)
from orchestrator.weights.events import PullEvent, PullPlan, PullResult
from orchestrator.weights.remote import list_snapshot
from orchestrator.weights.transfer import Transfer
from orchestrator.weights.verify import FileWatch

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings

__all__ = ["PullInterrupted", "plan_pull", "pull"]

Progress = Callable[[PullEvent], None]
TICK = 0.05
"""Seconds between looks at the files being written (what lands in between is hashed in one go)."""
HASH_BUDGET = 256 << 20
"""Bytes one look hashes of one file at most; a watch this far behind is looked at again at once."""
_RATE_WINDOW = 3.0


class PullInterrupted(KeyboardInterrupt):
    """Ctrl-C during a pull: `kept` says what stays in the cache; `settled` whether the downloads stopped."""

    def __init__(self, kept: str, settled: bool) -> None:
        self.kept, self.settled = kept, settled
        super().__init__(kept)


def _context(settings: Settings, revision: str, hub_dir: Path, token_sent: bool) -> PullContext:
    from huggingface_hub import constants

    cache = RepoCache(hub_dir, settings.model.id)
    commit = cache.read_ref(revision) or (revision if len(revision) == 40 else None)
    complete = commit if commit and cache.missing(commit) == [] else None
    return PullContext(settings.model.id, revision, constants.ENDPOINT, token_sent, str(hub_dir), complete)


def _token(settings: Settings) -> tuple[str | None, bool]:
    """The token to send (None: huggingface_hub's own sources) and whether one will be sent at all."""
    from huggingface_hub import constants, get_token

    secret = settings.secrets.hf_token
    if secret is not None and secret.get_secret_value():
        return secret.get_secret_value(), True
    return None, not constants.HF_HUB_DISABLE_IMPLICIT_TOKEN and get_token() is not None


def _free_bytes(path: Path) -> int:
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def plan_pull(settings: Settings, *, revision: str | None = None) -> tuple[PullPlan, PullContext, str | None]:
    """The dry run (one listing of the Hub, nothing written but stale `*.incomplete` files cleared)."""
    from huggingface_hub import constants

    from orchestrator.weights.location import host_hub_cache

    repo_id = settings.model.id
    if repo_id.startswith("/"):
        problem = ConfigProblem(
            "model.id",
            settings.source_of("model.id"),
            repr(repo_id),
            "is a path inside the container: there is nothing to pull from the Hub",
            "set model.id to a Hub repository (org/name), or fill that path yourself",
        )
        raise ConfigError([problem])
    revision = revision or settings.model.revision or "main"
    hub_dir = host_hub_cache(settings)
    token, token_sent = _token(settings)
    ctx = _context(settings, revision, hub_dir, token_sent)
    try:
        snapshot = list_snapshot(repo_id, revision, endpoint=constants.ENDPOINT, token=token)
    except Exception as exc:
        raise (explain(exc, ctx) or exc) from None
    cache = RepoCache(hub_dir, repo_id)
    cache.clear_orphans()
    cached = frozenset(f.path for f in snapshot.files if cache.has(snapshot.commit, f))
    plan = PullPlan(snapshot, hub_dir, cached, _free_bytes(hub_dir), constants.ENDPOINT)
    return plan, ctx, token


def pull(
    settings: Settings,
    *,
    revision: str | None = None,
    dry_run: bool = False,
    verify: bool = True,
    progress: Progress | None = None,
) -> PullResult:
    """Pull `settings.model.id` at `revision` (default: model.revision, else main). Raises `PullError` (exit 8)
    with cause and fix, `ConfigError` for a model id that is a path, `PullInterrupted` on Ctrl-C.

    `verify=False` checks sizes only (no hashing): for a machine with no spare core, where hashing every byte
    competes with the download itself."""
    started = time.monotonic()
    report = progress or (lambda event: None)
    plan, ctx, token = plan_pull(settings, revision=revision)
    report(PullEvent("plan", time.monotonic() - started, plan=plan))
    if dry_run:
        return PullResult(plan, dry_run=True)
    if plan.download_bytes > plan.free_bytes:
        raise DiskFullError(
            f"{plan.download_bytes:,} bytes to fetch, {plan.free_bytes:,} free at {plan.hub_dir}",
            cause="the disk holding host.cache_dir has too little free space for the files still missing",
            fix="free space there or point host.cache_dir at a larger disk (nothing was downloaded)",
        )
    return _download(plan, ctx, token, report, started, verify)


def _download(
    plan: PullPlan, ctx: PullContext, token: str | None, report: Progress, started: float, verify: bool
) -> PullResult:
    snap = plan.snapshot
    cache = RepoCache(plan.hub_dir, snap.repo_id)
    watches = [FileWatch(cache, snap.commit, f, hashing=verify) for f in snap.files]
    fetching = [w for w in watches if w.file.path not in plan.cached]
    for watch in watches:
        if watch.file.path in plan.cached:
            report(PullEvent("file", 0.0, watch.file.path, watch.file.size, watch.file.size, state="cached"))
    transfer = Transfer(
        snap.repo_id,
        snap.commit,
        plan.hub_dir,
        endpoint=plan.endpoint,
        token=token,
        transient=lambda exc: isinstance(explain(exc, ctx), HubUnreachableError),
    )
    transfer.start()
    try:
        _follow(transfer, watches, fetching, plan, report, started)
    except KeyboardInterrupt:
        settled = transfer.cancel()
        for watch in watches:
            watch.close()
        kept = sum(1 for f in snap.files if cache.has(snap.commit, f))
        raise PullInterrupted(
            f"{kept} of {len(snap.files)} files are complete in the cache and stay; a file cut short is "
            "fetched again from its first byte by the next `orchestrator pull`",
            settled,
        ) from None
    if transfer.error is not None:
        for watch in watches:
            watch.close()
        error = transfer.error
        raise (
            explain(error, ctx)
            or PullError(
                f"the download failed: {type(error).__name__}",
                cause="an error huggingface_hub raised",
                fix="run `orchestrator pull` again; finished files are kept",
            )
        ) from None
    return _verify(plan, cache, watches, fetching, transfer, report, started)


def _follow(
    transfer: Transfer,
    watches: list[FileWatch],
    fetching: list[FileWatch],
    plan: PullPlan,
    report: Progress,
    started: float,
) -> None:
    """Until the transfer ends: hash what landed, report per-file states and the total, rate and ETA."""
    history: deque[tuple[float, int]] = deque()
    shown: dict[str, tuple[int, str]] = {}
    total = plan.download_bytes
    while True:
        finished = transfer.done()
        behind = [watch.step(HASH_BUDGET) >= HASH_BUDGET for watch in watches]
        now = time.monotonic()
        for watch in fetching:
            state = "done" if plan.snapshot_dir.joinpath(watch.file.path).exists() else "downloading"
            written = watch.file.size if state == "done" else min(watch.written, watch.file.size)
            if shown.get(watch.file.path) != (written, state) and (written or state == "done"):
                shown[watch.file.path] = (written, state)
                report(
                    PullEvent("file", now - started, watch.file.path, written, watch.file.size, state=state)
                )
        current = sum(shown.get(w.file.path, (0, ""))[0] for w in fetching)
        history.append((now, current))
        while history and now - history[0][0] > _RATE_WINDOW:
            history.popleft()
        span = now - history[0][0]
        rate = (current - history[0][1]) / span if span > 0.2 else None
        eta = (total - current) / rate if rate else None
        report(PullEvent("progress", now - started, bytes=current, total=total, rate=rate, eta=eta))
        while transfer.retries:
            report(PullEvent("retry", now - started, message=transfer.retries.pop(0)))
        if finished:
            return
        if not any(behind):  # sleeping leaves the GIL to huggingface_hub's download threads
            time.sleep(TICK)


def _verify(
    plan: PullPlan,
    cache: RepoCache,
    watches: list[FileWatch],
    fetching: list[FileWatch],
    transfer: Transfer,
    report: Progress,
    started: float,
) -> PullResult:
    snap = plan.snapshot
    bad: list[str] = []
    for watch in watches:
        ok = watch.finish(reread=transfer.restarted)
        report(
            PullEvent(
                "verified",
                time.monotonic() - started,
                watch.file.path,
                state="ok" if ok else "mismatch",
                message=watch.file.algorithm if watch.hashing else "size",
            )
        )
        if not ok:
            bad.append(watch.file.path)
            cache.remove(snap.commit, watch.file)
    if bad:
        raise VerificationError(
            f"{len(bad)} file{'s' if len(bad) > 1 else ''} did not match the Hub's hashes and "
            f"{'were' if len(bad) > 1 else 'was'} removed from the snapshot: {', '.join(bad)}",
            cause="bytes changed on the way or on disk (a proxy, a faulty disk, a file edited by hand)",
            fix="run `orchestrator pull` again to fetch them anew",
            files=bad,
        )
    cache.write_ref(snap.revision, snap.commit)
    return PullResult(
        plan,
        fetched=tuple(w.file.path for w in fetching),
        fetched_bytes=sum(w.file.size for w in fetching),
        seconds=time.monotonic() - started,
        verified=len(watches),
        retries=list(transfer.retries),
    )
