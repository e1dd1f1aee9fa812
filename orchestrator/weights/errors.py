"""Why a pull failed, in plain words: each error names the cause and the fix, and exits 8.

`explain()` turns what huggingface_hub, httpx2 or the disk raised into one of these. Messages never hold the
token: they are built from the repository, the revision, the endpoint and the status, nothing the request sent.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from orchestrator.errors import OrchestratorError

__all__ = [
    "DiskFullError",
    "GatedModelError",
    "HubUnreachableError",
    "PullContext",
    "PullError",
    "RemoteNotFoundError",
    "TokenRejectedError",
    "VerificationError",
    "explain",
]

TOKEN_SETTING = "ORCHESTRATOR_SECRETS__HF_TOKEN (or HF_TOKEN) in the environment or .env"


class PullError(OrchestratorError):
    """The weights could not be pulled or verified; `cause` and `fix` are plain words."""

    exit_code = 8

    def __init__(self, message: str, *, cause: str, fix: str) -> None:
        self.cause, self.fix = cause, fix
        super().__init__(message)


class GatedModelError(PullError):
    """The repository is gated and the token sent (or none) has not been granted access."""


class TokenRejectedError(PullError):
    """The Hub does not know the token sent."""


class RemoteNotFoundError(PullError):
    """The repository, the revision or a file does not exist (or is private to others)."""


class HubUnreachableError(PullError):
    """No answer from the Hub: network, DNS, proxy, or a stalled connection."""

    def __init__(self, message: str, *, cause: str, fix: str, offline_ready: bool) -> None:
        self.offline_ready = offline_ready
        super().__init__(message, cause=cause, fix=fix)


class DiskFullError(PullError):
    """Not enough free space for the files still to fetch."""


class VerificationError(PullError):
    """Files that arrived do not match the Hub's hashes; they were taken out of the snapshot."""

    def __init__(self, message: str, *, cause: str, fix: str, files: list[str]) -> None:
        self.files = files
        super().__init__(message, cause=cause, fix=fix)


@dataclass(frozen=True)
class PullContext:
    repo_id: str
    revision: str
    endpoint: str
    token_sent: bool
    cache_dir: str
    offline_snapshot: str | None = None
    """A complete cached snapshot of this revision (its commit), if there is one."""


def explain(exc: BaseException, ctx: PullContext) -> PullError | None:
    """Our error for what huggingface_hub, httpx2 or the OS raised; None when it is none we know."""
    from huggingface_hub import errors as hf

    page = f"{ctx.endpoint}/{ctx.repo_id}"
    if isinstance(exc, hf.GatedRepoError):
        who = "the token sent has not been granted access" if ctx.token_sent else "no token was sent"
        return GatedModelError(
            f"{ctx.repo_id} is a gated model: {who}",
            cause=f"downloads of {ctx.repo_id} need a Hub account that accepted its licence, and its token",
            fix=f"sign in at {page}, accept the licence there, then set {TOKEN_SETTING} to that account's token",
        )
    if isinstance(exc, hf.RevisionNotFoundError):
        return RemoteNotFoundError(
            f"revision {ctx.revision!r} does not exist in {ctx.repo_id}",
            cause="no branch, tag or commit of that name",
            fix=f"set model.revision to a branch, tag or commit listed at {page}/tree/main (or unset it for main)",
        )
    if isinstance(exc, hf.EntryNotFoundError | hf.RemoteEntryNotFoundError):
        return RemoteNotFoundError(
            f"a file of {ctx.repo_id} at {ctx.revision!r} is missing on the Hub: {exc.__class__.__name__}",
            cause="the tree lists a file that the Hub then does not serve (a commit being rewritten?)",
            fix="run `orchestrator pull` again; if it persists, pin model.revision to an older commit",
        )
    if isinstance(exc, hf.RepositoryNotFoundError):
        private = "" if ctx.token_sent else " (a private repository answers the same without a token)"
        return RemoteNotFoundError(
            f"repository {ctx.repo_id} not found on {ctx.endpoint}{private}",
            cause="model.id names no repository this token (or no token) may see",
            fix=f"check model.id (org/name, as at {ctx.endpoint}); for a private model set {TOKEN_SETTING}",
        )
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, hf.HfHubHTTPError) and status == 401:
        how = "the token sent" if ctx.token_sent else "the request"
        return TokenRejectedError(
            f"the Hub rejected {how}: 401 Unauthorized",
            cause="the token is invalid, expired or revoked" if ctx.token_sent else "the Hub wants a token",
            fix=f"create a read token at https://huggingface.co/settings/tokens and set {TOKEN_SETTING}",
        )
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(
            f"the disk holding {ctx.cache_dir} filled up during the download",
            cause="no space left on the device (or over quota)",
            fix="free space there, or point host.cache_dir at a larger disk; `orchestrator pull --dry-run` "
            "shows the bytes needed",
        )
    if _unreachable(exc):
        return unreachable(ctx, exc)
    return None


def _unreachable(exc: BaseException) -> bool:
    import httpx2
    from huggingface_hub import errors as hf

    from orchestrator.weights.remote import ListingTimeout

    if isinstance(exc, httpx2.TransportError | ListingTimeout | hf.OfflineModeIsEnabled):
        return True
    if isinstance(exc, hf.LocalEntryNotFoundError):  # HEAD failed and nothing cached
        return True
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return isinstance(exc, hf.HfHubHTTPError) and status is not None and status >= 500


def unreachable(ctx: PullContext, exc: BaseException) -> HubUnreachableError:
    what = type(exc).__name__
    if ctx.offline_snapshot:
        fix = (
            f"the cache already holds a complete snapshot of {ctx.revision!r} (commit {ctx.offline_snapshot[:12]}): "
            "start without the Hub (`orchestrator up --offline`), or retry when the Hub answers"
        )
    else:
        fix = "check the network, proxy and HF_ENDPOINT, then run `orchestrator pull` again (finished files stay)"
    return HubUnreachableError(
        f"the Hub at {ctx.endpoint} did not answer ({what})",
        cause="no connection, a timeout, or a server error from the Hub",
        fix=fix,
        offline_ready=ctx.offline_snapshot is not None,
    )
