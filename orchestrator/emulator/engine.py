"""Continuous batching scheduler: a waiting queue, a running batch, prefill and decode steps on a latency profile.

Like TGI v3's router loop: each iteration first admits waiting sequences while their prompt tokens fit
`max_batch_prefill_tokens`, their reserved KV tokens (prompt + up to 1024 new tokens, one v3 round) fit
`max_batch_total_tokens` and the batch stays within `max_batch_size`; admitted sequences run one prefill pass (the
running batch pauses, TGI's "concat"), which yields their first token. Otherwise the running batch takes one decode
step, one token per sequence. Step durations come from the profile; steps are scheduled on absolute deadlines (timer
then a short cooperative spin) so per-token timing is accurate to well under a millisecond.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from orchestrator.emulator.generation import Generation
from orchestrator.emulator.latency import LatencyProfile
from orchestrator.emulator.metrics import Metrics

__all__ = ["Engine", "sleep_until"]

_SPIN = 0.0015  # seconds before a deadline at which we stop trusting the (millisecond) event-loop timer
_PREFILL = (("method", "prefill"),)
_DECODE = (("method", "decode"),)


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
        metrics: Metrics,
        *,
        max_batch_prefill_tokens: int,
        max_batch_total_tokens: int,
        max_batch_size: int | None,
    ) -> None:
        self.profile = profile
        self.metrics = metrics
        self.max_prefill = max_batch_prefill_tokens
        self.max_total = max_batch_total_tokens
        self.max_batch_size = max_batch_size
        self.waiting: deque[Generation] = deque()
        self.running: list[Generation] = []
        self._wake = asyncio.Event()
        self._reserved = 0

    def submit(self, generation: Generation) -> None:
        self.waiting.append(generation)
        self.metrics.set("tgi_queue_size", len(self.waiting))
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
        metrics = self.metrics
        metrics.set("tgi_queue_size", len(self.waiting))
        metrics.set("tgi_batch_current_size", len(self.running))
        metrics.set("tgi_batch_current_max_tokens", self._reserved)

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
                if self.running:
                    self.metrics.inc("tgi_batch_concat", labels=(("reason", "backpressure"),))
                self.metrics.observe("tgi_batch_next_size", len(admitted))
                for generation in admitted:
                    generation.admitted_at = start
                    generation.queue_seconds = start - generation.arrival
                    self.metrics.observe("tgi_request_queue_duration", generation.queue_seconds)
                self._gauges()
                deadline += duration
                now = await _forward(admitted, deadline, instant)
                self.running.extend(admitted)
                self._observe_step(_PREFILL, now - start)
            elif self.running:
                kv_tokens = sum(g.kv_tokens for g in self.running) if not instant else 0
                duration = profile.decode_seconds(len(self.running), kv_tokens)
                deadline += duration
                now = await _forward(self.running, deadline, instant)
                self._observe_step(_DECODE, now - start)
            self._retire()
            self._gauges()

    def _observe_step(self, labels: tuple[tuple[str, str], ...], seconds: float) -> None:
        metrics = self.metrics
        metrics.inc("tgi_batch_inference_count", labels=labels)
        metrics.inc("tgi_batch_inference_success", labels=labels)
        metrics.observe("tgi_batch_inference_duration", seconds, labels)
        metrics.observe("tgi_batch_forward_duration", seconds, labels)
