"""`run_sync`: the blocking client's one retry loop; `async_retry_loop.py` (`run_async`) is generated from it.

The first attempt runs before any tenacity object exists, since most calls succeed at once; a retryable failure
is then replayed as the outcome of tenacity's first attempt, so tenacity (wired by `retry.build_retrying`) makes
every retry decision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from orchestrator.client.budget import RetryBudget
from orchestrator.client.errors import TGIError
from orchestrator.client.retry import CallContext, build_retrying, finish_failed, replay_or_raise

if TYPE_CHECKING:
    from orchestrator.client.endpoints import EndpointPool

__all__ = ["run_sync"]

T = TypeVar("T")


def run_sync(
    attempt: Callable[[CallContext], T],
    ctx: CallContext,
    budget: RetryBudget,
    pool: EndpointPool | None = None,
) -> T:
    """Drive `attempt(ctx)` under the policy, on tenacity's `Retrying`."""
    budget.on_call()
    try:
        result = attempt(ctx)
    except TGIError as exc:
        replay = replay_or_raise(ctx, exc)
    else:
        ctx.finish("ok")
        return result

    def again(c: CallContext) -> T:
        if replay:
            raise replay.pop()
        return attempt(c)

    try:
        for controller in build_retrying(ctx, budget, pool):
            with controller:
                result = again(ctx)
    except TGIError as exc:
        finish_failed(ctx, exc)
        raise
    ctx.finish("ok")
    return result
