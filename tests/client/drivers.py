"""Run one test suite against both clients: each driver exposes the same blocking surface.

`SyncDriver` calls `TGIClient` directly; `AsyncDriver` runs `AsyncTGIClient` on its own event loop. A stream is
consumed by `collect`, which returns the events received and the error that ended it (if any), so tests can check
what reached the caller before a failure. `observe` makes any call the same way through either client and returns
an `Observation`, so one scenario list can be compared call by call across the two (test_client_parity.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from orchestrator.client import AsyncTGIClient, CallStats, TGIClient, TGIError, TokenEvent

Outcome = tuple[Any, CallStats | None]  # (GenerateResult or the exception raised, that call's statistics)
STREAMING = frozenset({"stream", "chat_stream"})


@dataclass
class Observation:
    """What one call gave its caller: the value (the open stream for streams), the events read, the error that
    ended it, and the call's statistics."""

    value: Any = None
    events: list[Any] = field(default_factory=list)
    error: TGIError | None = None
    stats: CallStats | None = None

    def finish(self, method: str, last_stats: CallStats | None) -> Observation:
        if self.error is not None:
            self.stats = self.error.stats
        elif method in STREAMING:
            self.stats = self.value.stats
        else:
            self.stats = last_stats
        return self


class SyncDriver:
    kind = "sync"

    def __init__(self, urls: str | Sequence[str], **kwargs: Any) -> None:
        self.client = TGIClient(urls, **kwargs)

    def generate(self, prompt: str, **kwargs: Any) -> Any:
        try:
            return self.client.generate(prompt, **kwargs)
        finally:
            self.last_stats = self.client.last_stats

    def collect(self, prompt: str, **kwargs: Any) -> tuple[list[TokenEvent], Any, BaseException | None]:
        stream = self.client.stream(prompt, **kwargs)
        events: list[TokenEvent] = []
        try:
            for event in stream:
                events.append(event)
        except Exception as exc:
            return events, stream, exc
        return events, stream, None

    def chat(self, messages: list[dict[str, str]], **kwargs: Any) -> Any:
        return self.client.chat(messages, **kwargs)

    def many(self, prompt: str, calls: int, concurrency: int, **kwargs: Any) -> list[Outcome]:
        """`calls` generate(details=True) calls from `concurrency` threads sharing this one client."""

        def one(_: int) -> Outcome:
            try:
                return self.client.generate(prompt, details=True, **kwargs), self.client.last_stats
            except Exception as exc:
                return exc, self.client.last_stats

        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(one, range(calls)))

    def chat_collect(self, messages: list[dict[str, str]], **kwargs: Any) -> tuple[list[Any], Any]:
        stream = self.client.chat_stream(messages, **kwargs)
        return list(stream), stream

    def observe(self, method: str, *args: Any, **kwargs: Any) -> Observation:
        """Call `method` on the client; read a stream to its end."""
        seen = Observation()
        try:
            seen.value = getattr(self.client, method)(*args, **kwargs)
            if method in STREAMING:
                for event in seen.value:
                    seen.events.append(event)
        except TGIError as exc:
            seen.error = exc
        return seen.finish(method, self.client.last_stats)

    def health(self) -> bool:
        return self.client.health()

    def info(self) -> dict[str, Any]:
        return self.client.info()

    def close(self) -> None:
        self.client.close()


class AsyncDriver:
    kind = "async"

    def __init__(self, urls: str | Sequence[str], **kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = AsyncTGIClient(urls, **kwargs)

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def generate(self, prompt: str, **kwargs: Any) -> Any:
        async def go() -> Any:
            try:
                return await self.client.generate(prompt, **kwargs)
            finally:  # the stats live in the calling task's context
                self.last_stats = self.client.last_stats

        return self._run(go())

    def collect(self, prompt: str, **kwargs: Any) -> tuple[list[TokenEvent], Any, BaseException | None]:
        async def go() -> tuple[list[TokenEvent], Any, BaseException | None]:
            stream = await self.client.stream(prompt, **kwargs)
            events: list[TokenEvent] = []
            try:
                async for event in stream:
                    events.append(event)
            except Exception as exc:
                return events, stream, exc
            return events, stream, None

        return self._run(go())  # type: ignore[no-any-return]

    def chat(self, messages: list[dict[str, str]], **kwargs: Any) -> Any:
        return self._run(self.client.chat(messages, **kwargs))

    def many(self, prompt: str, calls: int, concurrency: int, **kwargs: Any) -> list[Outcome]:
        """`calls` generate(details=True) calls as tasks, at most `concurrency` at a time, on one client."""
        gate = asyncio.Semaphore(concurrency)

        async def one() -> Outcome:
            async with gate:
                try:
                    return await self.client.generate(prompt, details=True, **kwargs), self.client.last_stats
                except Exception as exc:
                    return exc, self.client.last_stats

        async def go() -> list[Outcome]:
            return list(await asyncio.gather(*(one() for _ in range(calls))))

        return self._run(go())  # type: ignore[no-any-return]

    def chat_collect(self, messages: list[dict[str, str]], **kwargs: Any) -> tuple[list[Any], Any]:
        async def go() -> tuple[list[Any], Any]:
            stream = await self.client.chat_stream(messages, **kwargs)
            return [chunk async for chunk in stream], stream

        return self._run(go())  # type: ignore[no-any-return]

    def observe(self, method: str, *args: Any, **kwargs: Any) -> Observation:
        """Await `method` on the client; `async for` a stream to its end (statistics read in the same task)."""

        async def go() -> Observation:
            seen = Observation()
            try:
                seen.value = await getattr(self.client, method)(*args, **kwargs)
                if method in STREAMING:
                    async for event in seen.value:
                        seen.events.append(event)
            except TGIError as exc:
                seen.error = exc
            return seen.finish(method, self.client.last_stats)

        return self._run(go())  # type: ignore[no-any-return]

    def health(self) -> bool:
        return self._run(self.client.health())  # type: ignore[no-any-return]

    def info(self) -> dict[str, Any]:
        return self._run(self.client.info())  # type: ignore[no-any-return]

    def close(self) -> None:
        self._run(self.client.aclose())
        self.loop.close()


DRIVERS = {"sync": SyncDriver, "async": AsyncDriver}
