# GENERATED FILE, DO NOT EDIT. Written from retry_loop.py by `python -m orchestrator.client._generate_async`.
"""`run_async`: the asyncio client's one retry loop, on tenacity's `AsyncRetrying`.

Generated from the blocking `retry_loop.py`, where this code is written once: edit that file, then run
`python -m orchestrator.client._generate_async`. tests/client/test_generated_async.py fails on any drift.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from orchestrator.client.budget import RetryBudget
from orchestrator.client.errors import TGIError
from orchestrator.client.retry import CallContext, build_retrying, finish_failed, replay_or_raise

if TYPE_CHECKING:
    from orchestrator.client.endpoints import EndpointPool

__all__ = ["run_async"]

T = TypeVar("T")


async def run_async(
    attempt: Callable[[CallContext], Awaitable[T]],
    ctx: CallContext,
    budget: RetryBudget,
    pool: EndpointPool | None = None,
) -> T:
    """Drive `attempt(ctx)` under the policy, on tenacity's `AsyncRetrying`."""
    budget.on_call()
    try:
        result = await attempt(ctx)
    except TGIError as exc:
        replay = replay_or_raise(ctx, exc)
    else:
        ctx.finish("ok")
        return result

    async def again(c: CallContext) -> T:
        if replay:
            raise replay.pop()
        return await attempt(c)

    try:
        async for controller in build_retrying(ctx, budget, pool, asynchronous=True):
            with controller:
                result = await again(ctx)
    except TGIError as exc:
        finish_failed(ctx, exc)
        raise
    ctx.finish("ok")
    return result
