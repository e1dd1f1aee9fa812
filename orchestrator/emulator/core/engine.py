"""Continuous batching scheduler: a waiting queue, a running batch, prefill and decode steps on a latency profile.

Like TGI v3's router loop: each iteration first admits waiting sequences while their prompt tokens fit
`max_batch_prefill_tokens`, their reserved KV tokens (prompt + up to 1024 new tokens, one v3 round) fit
`max_batch_total_tokens` and the batch stays within `max_batch_size`; admitted sequences run one prefill pass (the
running batch pauses, TGI's "concat"), which yields their first token. Otherwise the running batch takes one decode
step, one token per sequence. Step durations come from the profile; steps are scheduled on absolute deadlines (timer
then a short cooperative spin) so per-token timing is accurate to well under a millisecond. What the loop does is
reported to a `SchedulerObserver`, which each front-end turns into its engine's metric series.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Literal, Protocol

from orchestrator.emulator.core.generation import Generation
from orchestrator.emulator.core.latency import LatencyProfile

__all__ = ["Engine", "SchedulerObserver", "StepKind", "sleep_until"]

_SPIN = 0.0015  # seconds before a deadline at which we stop trusting the (millisecond) event-loop timer

StepKind = Literal["prefill", "decode"]


class SchedulerObserver(Protocol):
    """What the batching loop reports: queue and batch sizes, admissions and forward passes."""

    def queued(self, waiting: int) -> None:
        """A sequence joined the waiting queue, now `waiting` long."""

    def sizes(self, waiting: int, running: int, reserved_tokens: int) -> None:
        """The queue, the running batch and the KV tokens it reserves, after a scheduling step."""

    def admitted(self, admitted: list[Generation], *, concat: bool) -> None:
        """Sequences left the queue for a prefill (`queue_seconds` set); `concat`: a running batch paused."""

    def step(self, kind: StepKind, seconds: float) -> None:
        """One forward pass ended."""


async def sleep_until(deadline: float) -> None:
    """Sleep until `time.perf_counter()` reaches `deadline`, accurate to tens of microseconds."""
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return
        await asyncio.sleep(remaining - _SPIN if remaining > 2 * _SPIN else 0)


async def _forward(generations: list[Generation], deadline: float, instant: bool) -> float:
    """One emulated forward pass: wait until `deadline` (only yield under `instant`), then every live
    generation in the batch takes its next token. Returns the time the pass ended."""
    if instant:
        await asyncio.sleep(0)
    else:
        await sleep_until(deadline)
    now = time.perf_counter()
    for generation in generations:
        if not generation.cancelled and not generation.finished:
            generation.step(now)
    return now


class Engine:
    """Owns the queue and the batch; `submit` from request handlers, `run` as one background task."""

    def __init__(
        self,
        profile: LatencyProfile,
        observer: SchedulerObserver,
        *,
        max_batch_prefill_tokens: int,
        max_batch_total_tokens: int,
        max_batch_size: int | None,
    ) -> None:
        self.profile = profile
        self.observer = observer
        self.max_prefill = max_batch_prefill_tokens
        self.max_total = max_batch_total_tokens
        self.max_batch_size = max_batch_size
        self.waiting: deque[Generation] = deque()
        self.running: list[Generation] = []
        self._wake = asyncio.Event()
        self._reserved = 0

    def submit(self, generation: Generation) -> None:
        self.waiting.append(generation)
        self.observer.queued(len(self.waiting))
        self._wake.set()

    def fail_all(self, message: str) -> None:
        """Fail every queued and running sequence (a crashed shard fails the whole batch)."""
        for generation in [*self.waiting, *self.running]:
            generation.fail(message)
        self.waiting.clear()

    def _admit(self) -> list[Generation]:
        admitted: list[Generation] = []
        prefill_tokens = 0
        while self.waiting:
            candidate = self.waiting[0]
            if candidate.cancelled or candidate.finished:
                self.waiting.popleft()
                continue
            batch = len(self.running) + len(admitted)
            if self.max_batch_size is not None and batch >= self.max_batch_size:
                break
            if admitted and prefill_tokens + candidate.input_length > self.max_prefill:
                break
            if batch and self._reserved + candidate.reserved_tokens > self.max_total:
                break
            self.waiting.popleft()
            admitted.append(candidate)
            prefill_tokens += candidate.input_length
            self._reserved += candidate.reserved_tokens
        return admitted

    def _retire(self) -> None:
        keep: list[Generation] = []
        for generation in self.running:
            if generation.finished or generation.cancelled:
                self._reserved -= generation.reserved_tokens
            else:
                keep.append(generation)
        self.running = keep

    def _gauges(self) -> None:
        self.observer.sizes(len(self.waiting), len(self.running), self._reserved)

    async def run(self) -> None:
        """The batching loop; never returns (cancel the task to stop it)."""
        profile = self.profile
        instant = profile.instant
        deadline = time.perf_counter()
        while True:
            if not self.waiting and not self.running:
                self._gauges()
                self._wake.clear()
                await self._wake.wait()
                deadline = time.perf_counter()
            admitted = self._admit()
            start = time.perf_counter()
            if deadline < start - 0.001:
                deadline = start  # we are late (CPU contention): do not try to catch up
            if admitted:
                prompt_tokens = sum(g.input_length for g in admitted)
                duration = profile.prefill_seconds(prompt_tokens)
                for generation in admitted:
                    generation.admitted_at = start
                    generation.queue_seconds = start - generation.arrival
                self.observer.admitted(admitted, concat=bool(self.running))
                self._gauges()
                deadline += duration
                now = await _forward(admitted, deadline, instant)
                self.running.extend(admitted)
                self.observer.step("prefill", now - start)
            elif self.running:
                kv_tokens = sum(g.kv_tokens for g in self.running) if not instant else 0
                duration = profile.decode_seconds(len(self.running), kv_tokens)
                deadline += duration
                now = await _forward(self.running, deadline, instant)
                self.observer.step("decode", now - start)
            self._retire()
            self._gauges()
