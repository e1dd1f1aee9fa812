"""The vLLM emulator's state and request pipeline: admission, sequences on the core engine, metrics, shutdown.

A request is counted, its faults drawn, checked against the queue limit (`--max-num-queued-reqs`: 503), then its
`n` sequences join the core's continuous-batching engine (`--max-num-seqs` running, `--max-num-batched-tokens` per
prefill step, the KV cache's tokens). Finished requests feed the `vllm:` series. On SIGTERM the in-flight requests
are aborted at once (`--shutdown-timeout 0`, vLLM's default) or drained for up to that many seconds, then aborted.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

from orchestrator.emulator.core.engine import Engine
from orchestrator.emulator.core.faults import FaultInjector, FaultPlan
from orchestrator.emulator.core.generation import Generation
from orchestrator.emulator.core.vocab import get_vocabulary
from orchestrator.emulator.vllm.config import VllmConfig
from orchestrator.emulator.vllm.errors import VllmError, busy, internal_error
from orchestrator.emulator.vllm.metrics import SchedulerMetrics, vllm_metrics
from orchestrator.emulator.vllm.sampling import Sampling
from orchestrator.engines.vllm.metrics import STATUS
from orchestrator.tokens import get_tokenizer

__all__ = ["Job", "VllmService"]

_FINISHED = {"length": "length", "eos_token": "stop", "stop_sequence": "stop", "stop_token": "stop",
             "abort": "abort"}  # fmt: skip


@dataclass(eq=False)
class Job:
    """One accepted request: its sequences, sampling and timing marks (perf_counter seconds)."""

    prompt_ids: list[int]
    sampling: Sampling
    generations: list[Generation]
    arrival: float
    plan: FaultPlan
    first_sent: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def prompt_tokens(self) -> int:
        return len(self.prompt_ids)


class VllmService:
    """Config, tokenizer, engine, metrics, faults and the in-flight requests of one emulator process."""

    def __init__(self, config: VllmConfig) -> None:
        self.config = config
        self.tokenizer = get_tokenizer()
        self.vocab = get_vocabulary()
        self.labels = (("model_name", config.served_name), ("engine", "0"))
        self.metrics = vllm_metrics(config.max_model_len, config.max_num_batched_tokens)
        self.engine = Engine(
            config.profile,
            SchedulerMetrics(self.metrics, self.labels, config.kv_cache_tokens),
            max_batch_prefill_tokens=config.max_num_batched_tokens,
            max_batch_total_tokens=config.kv_cache_tokens,
            max_batch_size=config.max_num_seqs,
        )
        self.faults = FaultInjector(config.faults)
        for name in (STATUS.queue, STATUS.running, STATUS.kv_cache_usage or "vllm:kv_cache_usage_perc"):
            self.metrics.set(name, 0, self.labels)
        for name in ("vllm:prompt_tokens", "vllm:generation_tokens", "vllm:num_preemptions"):
            self.metrics.inc(name, 0, self.labels)
        self.in_flight: set[Job] = set()
        self.dead = False
        self.stopping = False
        self.on_crash: Callable[[], None] | None = None

    # admission ------------------------------------------------------------------------------------------------
    def begin(self) -> FaultPlan:
        """Before a generation request: engine alive, not shutting down, the crash fault, then its fault plan."""
        if not self.dead and self.faults.crash_due() and self.on_crash is not None:
            self.dead = True
            self.engine.fail_all("EngineDeadError")
            self.on_crash()
        if self.dead:
            raise internal_error()
        if self.stopping:
            raise busy()
        return self.faults.plan()

    def submit(self, prompt_ids: list[int], sampling: Sampling, *, arrival: float, plan: FaultPlan) -> Job:
        """Queue the request's `n` sequences; 503 when the waiting queue is at `--max-num-queued-reqs`."""
        limit = self.config.max_num_queued_reqs
        if limit is not None and len(self.engine.waiting) >= limit:
            self.metrics.inc("vllm:admission_rejections", labels=(("model_name", self.config.served_name),
                                                                   ("reason", "max_num_queued_reqs")))  # fmt: skip
            raise busy()
        generations = [self._generation(prompt_ids, sampling, arrival, index) for index in range(sampling.n)]
        job = Job(prompt_ids, sampling, generations, arrival, plan)
        self.in_flight.add(job)
        for generation in generations:
            self.engine.submit(generation)
        return job

    def _generation(
        self, prompt_ids: list[int], sampling: Sampling, arrival: float, index: int
    ) -> Generation:
        if sampling.greedy:
            seed = None  # argmax: the prompt alone decides the text
        elif sampling.seed is not None:
            seed = sampling.seed + index
        else:
            seed = random.getrandbits(63)
        length = len(prompt_ids)
        return Generation(
            request_id=id(prompt_ids) + index,
            input_ids=prompt_ids,
            input_length=length,
            limit=sampling.max_tokens,
            reserved_tokens=length + sampling.max_tokens,
            stop=sampling.stop,
            seed=seed,
            eos_rate=self.config.eos_rate,
            top_n=sampling.logprobs or 0,
            vocab=self.vocab,
            arrival=arrival,
            min_tokens=sampling.min_tokens,
            ignore_eos=sampling.ignore_eos,
            stop_ids=sampling.stop_token_ids,
        )

    def cancel(self, job: Job) -> None:
        """Stop the job's sequences: unfinished ones end with `abort` (and wake whoever waits on them)."""
        for generation in job.generations:
            if not generation.finished:
                generation.finish_reason = "abort"
            generation.cancelled = True
            generation.notify()

    # the end of a request ---------------------------------------------------------------------------------------
    def finish(self, job: Job) -> None:
        """Record the request in the `vllm:` series (once) and forget it."""
        if job not in self.in_flight:
            return
        self.in_flight.discard(job)
        job.done.set()
        m, labels = self.metrics, self.labels
        end = time.perf_counter()
        m.inc("vllm:prompt_tokens", job.prompt_tokens, labels)
        m.observe("vllm:request_prompt_tokens", job.prompt_tokens, labels)
        m.observe("vllm:request_params_max_tokens", job.sampling.max_tokens, labels)
        m.observe("vllm:request_params_n", job.sampling.n, labels)
        generated = [len(g.ids) for g in job.generations]
        m.observe("vllm:request_max_num_generation_tokens", max(generated, default=0), labels)
        for generation in job.generations:
            self._finish_sequence(generation, end)

    def _finish_sequence(self, generation: Generation, end: float) -> None:
        m, labels = self.metrics, self.labels
        count = len(generation.ids)
        reason = "error" if generation.error else _FINISHED.get(generation.finish_reason or "abort", "abort")
        m.inc("vllm:request_success", labels=(*labels, ("finished_reason", reason)))
        m.inc("vllm:generation_tokens", count, labels)
        m.observe("vllm:request_generation_tokens", count, labels)
        m.observe("vllm:e2e_request_latency_seconds", end - generation.arrival, labels)
        times = generation.times
        if not times:
            return
        admitted = generation.admitted_at or generation.arrival
        m.observe("vllm:time_to_first_token_seconds", times[0] - generation.arrival, labels)
        m.observe("vllm:request_inference_time_seconds", end - admitted, labels)
        m.observe("vllm:request_prefill_time_seconds", times[0] - admitted, labels)
        m.observe("vllm:request_decode_time_seconds", times[-1] - times[0], labels)
        for before, after in pairwise(times):
            m.observe("vllm:inter_token_latency_seconds", after - before, labels)
        if count > 1:
            m.observe(
                "vllm:request_time_per_output_token_seconds", (times[-1] - times[0]) / (count - 1), labels
            )

    def totals(self) -> tuple[float, float]:
        """(prompt tokens, generated tokens) served so far, as the counters hold them."""
        counters = self.metrics.counters
        return (counters.get(("vllm:prompt_tokens", self.labels), 0.0),
                counters.get(("vllm:generation_tokens", self.labels), 0.0))  # fmt: skip

    # shutdown -------------------------------------------------------------------------------------------------
    def abort_all(self) -> int:
        """End every in-flight sequence with `finish_reason: abort`; returns how many requests were in flight."""
        jobs = list(self.in_flight)
        for job in jobs:
            self.cancel(job)
        return len(jobs)

    async def drain(self, seconds: float) -> None:
        """Wait until no request is in flight, or `seconds` passed."""
        deadline = time.monotonic() + seconds
        while self.in_flight and time.monotonic() < deadline:
            waiting = [asyncio.ensure_future(job.done.wait()) for job in self.in_flight]
            _, pending = await asyncio.wait(waiting, timeout=max(0.0, deadline - time.monotonic()))
            for task in pending:
                task.cancel()

    def error_of(self, generation: Generation) -> VllmError | None:
        return internal_error() if generation.error is not None else None
