"""The emulator's shared state and the generation pipeline every route uses.

Order of a generation request, as in TGI's router: count it, check `best_of`, take concurrency permits (429 at once
when they are gone, never queued), validate (422), queue into the batching engine, wait for tokens. Each request
leaves a record of what really happened (queue time, time to first token, inter-token latency), served at
`GET /emulator/requests` so load tests can compare their measurements with the emulator's truth.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.emulator.core.engine import Engine
from orchestrator.emulator.core.faults import FaultInjector, FaultPlan
from orchestrator.emulator.core.generation import Generation
from orchestrator.emulator.core.vocab import get_vocabulary
from orchestrator.emulator.tgi.config import VERSION, EmulatorConfig
from orchestrator.emulator.tgi.errors import ApiError, overloaded
from orchestrator.emulator.tgi.metrics import SchedulerMetrics, tgi_metrics
from orchestrator.emulator.tgi.rounds import reserved_tokens, round_limit
from orchestrator.emulator.tgi.validation import Limits, ValidRequest, check_best_of, validate
from orchestrator.tokens import MistralTokenizer, get_tokenizer

__all__ = ["CRASH_ERROR", "Job", "Service"]

CRASH_ERROR = "Request failed during generation: Server error: transport error"


@dataclass
class Job:
    """One accepted request: its validated form, its sequences and its timing marks (perf_counter seconds)."""

    valid: ValidRequest
    generations: list[Generation]
    arrival: float
    validated: float
    plan: FaultPlan
    permits: int
    route: str
    stream: bool
    compute_characters: int
    first_sent: float = 0.0  # streams: when the first token event was handed to the socket

    @property
    def best(self) -> Generation:
        """The sequence TGI returns for best_of: highest summed logprob."""
        if len(self.generations) == 1:
            return self.generations[0]
        return max(self.generations, key=lambda g: g.logprob_sum())


class Service:
    """Config, tokenizer, engine, metrics, faults, permits and the request record of one emulator process."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        # the snapshot's own tokenizer when start-up read the cache, else the built-in one
        self.tokenizer = (
            MistralTokenizer(Path(config.tokenizer_file)) if config.tokenizer_file else get_tokenizer()
        )
        self.vocab = get_vocabulary()
        self.metrics = tgi_metrics(config.max_input_tokens, config.max_total_tokens, config.max_batch_size)
        self.engine = Engine(
            config.profile,
            SchedulerMetrics(self.metrics),
            max_batch_prefill_tokens=config.max_batch_prefill_tokens,
            max_batch_total_tokens=config.max_batch_total_tokens,
            max_batch_size=config.max_batch_size,
        )
        self.faults = FaultInjector(config.faults)
        self.metrics.set("tgi_batch_max_total_tokens", config.max_batch_total_tokens)
        self.limits = Limits(
            max_best_of=config.max_best_of,
            max_stop_sequences=config.max_stop_sequences,
            max_top_n_tokens=config.max_top_n_tokens,
            max_input_tokens=config.max_input_tokens,
            max_total_tokens=config.max_total_tokens,
            disable_grammar_support=config.disable_grammar_support,
        )
        self.docker_label: str | None = os.environ.get("EMULATOR_DOCKER_LABEL") or None
        self.fingerprint = f"{VERSION}-{self.docker_label or 'native'}"
        self.in_flight = 0
        self.records: deque[dict[str, Any]] = deque(maxlen=max(config.record_limit, 1))
        self._next_id = 0
        self.on_crash: Callable[[], None] | None = None
        self.crashed = False
        self.compute_type_header = (b"x-compute-type", config.compute_type.encode())

    # permits ------------------------------------------------------------------------------------------------
    def acquire(self, permits: int) -> None:
        if self.in_flight + permits > self.config.max_concurrent_requests:
            self.metrics.inc("tgi_request_failure", labels=(("err", "overloaded"),))
            raise overloaded()
        self.in_flight += permits

    def release(self, permits: int) -> None:
        self.in_flight -= permits

    def fail(self, error: ApiError) -> None:
        if error.metric:
            self.metrics.inc("tgi_request_failure", labels=(("err", error.metric),))

    # pipeline -----------------------------------------------------------------------------------------------
    def begin(self) -> FaultPlan:
        """Count a generation request and draw its faults (may trigger the crash fault)."""
        self.metrics.inc("tgi_request_count")
        if self.crashed or (self.faults.crash_due() and self.on_crash is not None):
            if not self.crashed:
                self.crashed = True
                self.engine.fail_all(CRASH_ERROR)
                assert self.on_crash is not None
                self.on_crash()
            error = ApiError(424, "generation", CRASH_ERROR, "generation")
            self.fail(error)
            raise error
        return self.faults.plan()

    def submit(
        self,
        inputs: str,
        params: Mapping[str, Any],
        *,
        arrival: float,
        plan: FaultPlan,
        route: str,
        stream: bool,
        add_special_tokens: bool = True,
    ) -> Job:
        """best_of check, permits, validation, then queue. Raises ApiError (permits released on error)."""
        best_of = int(params.get("best_of") or 1)
        if best_of != 1:
            try:
                check_best_of(best_of, self.config.max_best_of)
            except ApiError as error:
                self.fail(error)
                raise
        self.acquire(best_of)
        try:
            valid = validate(inputs, params, self.limits, self.tokenizer, best_of=best_of,
                             add_special_tokens=add_special_tokens)  # fmt: skip
        except ApiError as error:
            self.release(best_of)
            self.fail(error)
            raise
        validated = time.perf_counter()
        self.metrics.observe("tgi_request_validation_duration", validated - arrival)
        self.metrics.observe("tgi_request_input_length", valid.input_length)
        self.metrics.observe("tgi_request_max_new_tokens", valid.max_new_tokens)
        generations = [self._generation(valid, arrival, index) for index in range(best_of)]
        for generation in generations:
            self.engine.submit(generation)
        return Job(valid, generations, arrival, validated, plan, best_of, route, stream, len(inputs))

    def _generation(self, valid: ValidRequest, arrival: float, index: int) -> Generation:
        self._next_id += 1
        seed = valid.seed + index if valid.sampling else None
        limit = round_limit(valid.input_length, valid.max_new_tokens, self.config.max_total_tokens)
        return Generation(
            request_id=self._next_id,
            input_ids=valid.input_ids,
            input_length=valid.input_length,
            limit=limit,
            reserved_tokens=reserved_tokens(valid.input_length, limit),
            stop=valid.stop,
            seed=seed,
            eos_rate=self.config.eos_rate,
            top_n=valid.top_n_tokens,
            vocab=self.vocab,
            arrival=arrival,
        )

    def cancel(self, job: Job) -> None:
        for generation in job.generations:
            generation.cancelled = True

    def finish(
        self, job: Job, *, status: int = 200, error_type: str | None = None, dropped: bool = False
    ) -> None:
        """Release permits, update TGI's metrics and append the truth record."""
        self.release(job.permits)
        best = job.best
        end = time.perf_counter()
        if dropped:
            self.metrics.inc("tgi_request_failure", labels=(("err", "dropped"),))
        elif status == 200:
            total = end - job.arrival
            generated = len(best.ids)
            inference = end - best.admitted_at if best.admitted_at else 0.0
            metrics = self.metrics
            metrics.inc("tgi_request_success")
            metrics.observe("tgi_request_duration", total)
            metrics.observe("tgi_request_inference_duration", inference)
            metrics.observe("tgi_request_mean_time_per_token_duration", inference / max(generated, 1))
            metrics.observe("tgi_request_generated_tokens", generated)
        if self.config.record_limit:
            self.records.append(self._record(job, end, status, error_type, dropped))

    def _record(
        self, job: Job, end: float, status: int, error_type: str | None, dropped: bool
    ) -> dict[str, Any]:
        best = job.best
        gaps = [b - a for a, b in zip(best.times, best.times[1:], strict=False)]
        return {
            "id": best.request_id,
            "route": job.route,
            "stream": job.stream,
            "status": status,
            "error_type": error_type,
            "dropped": dropped,
            "arrival_unix": time.time() - (end - job.arrival),
            "arrival_monotonic_s": job.arrival,
            "input_tokens": job.valid.input_length,
            "input_ids": job.valid.input_ids,  # the prompt as tokenized (BOS included): shared prefixes, turns
            "generated_tokens": len(best.ids),
            "finish_reason": best.finish_reason,
            "validation_s": job.validated - job.arrival,
            "queue_s": best.queue_seconds,
            "ttft_s": best.ttft(),
            "ttft_sent_s": job.first_sent - job.arrival if job.first_sent else None,
            "itl_mean_s": best.mean_itl(),
            "itl_median_s": statistics.median(gaps) if gaps else None,
            "e2e_s": end - job.arrival,
        }

    def summary(self) -> dict[str, Any]:
        """Medians over the record (successful requests only), the figures load tests compare against."""
        ok = [r for r in self.records if r["status"] == 200 and not r["dropped"]]
        ttft = [r["ttft_s"] for r in ok if r["ttft_s"] is not None]
        sent = [r["ttft_sent_s"] for r in ok if r["ttft_sent_s"] is not None]
        itl = [r["itl_mean_s"] for r in ok if r["itl_mean_s"] is not None]
        return {
            "requests": len(self.records),
            "successful": len(ok),
            "ttft_median_s": statistics.median(ttft) if ttft else None,
            "ttft_sent_median_s": statistics.median(sent) if sent else None,
            "itl_median_s": statistics.median(itl) if itl else None,
            "profile": self.config.profile.name,
        }
