"""Keeps every exact sample of one load process, and merges those of many processes.

A worker drains its new samples into each stats report it sends to the master (Locust's `report_to_master`
event, every few seconds and once more when it quits); the master appends them (`worker_report`). Nothing is
re-bucketed or averaged on the way, so the master's percentiles are those of the union of all workers' samples,
exactly what one process would compute from the same requests. Arrival counters and the tokenizer check are sums.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.load.arrivals import ARRIVAL_COUNTERS
from orchestrator.load.figures import Sample

__all__ = ["REPORT_KEY", "SampleCollector", "TokenCheck"]

REPORT_KEY = "tgi_load"


@dataclass(slots=True)
class TokenCheck:
    """Server token counts against the Mistral tokenizer's count of the returned text."""

    requests: int = 0
    server_tokens: int = 0
    tokenizer_tokens: int = 0
    abs_difference: int = 0

    @property
    def mismatch_ratio(self) -> float:
        return self.abs_difference / self.server_tokens if self.server_tokens else 0.0

    def add(self, other: TokenCheck) -> None:
        self.requests += other.requests
        self.server_tokens += other.server_tokens
        self.tokenizer_tokens += other.tokenizer_tokens
        self.abs_difference += other.abs_difference

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "server_tokens": self.server_tokens,
            "tokenizer_tokens": self.tokenizer_tokens,
            "abs_difference": self.abs_difference,
            "mismatch_ratio": self.mismatch_ratio,
            "above_1_percent": self.mismatch_ratio > 0.01,
        }


@dataclass
class SampleCollector:
    """Samples, arrival counters and texts kept for the tokenizer check, for one process (or merged)."""

    worker: int = 0
    text_budget: int = 200
    samples: list[Sample] = field(default_factory=list)
    arrivals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ARRIVAL_COUNTERS, 0))
    token_check: TokenCheck = field(default_factory=TokenCheck)
    texts: list[tuple[int, str, bool]] = field(default_factory=list)
    _unsent: int = 0
    _arrivals_sent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ARRIVAL_COUNTERS, 0))
    _check_sent: TokenCheck = field(default_factory=TokenCheck)
    workers_seen: set[int] = field(default_factory=set)
    cpu_s: float = 0.0
    _cpu_sent: float = 0.0
    workload: dict[str, Any] = field(default_factory=dict)
    """what this process sends (`Workload.describe`: source, prefix, sessions, skipped rows); the same in every
    process, so the master keeps the first it is sent"""
    _workload_sent: bool = False

    def add(self, sample: Sample) -> None:
        sample.worker = self.worker
        self.samples.append(sample)

    def wants_text(self) -> bool:
        return len(self.texts) < self.text_budget

    def add_text(self, server_tokens: int, text: str, ended_by_eos: bool) -> None:
        if self.wants_text():
            self.texts.append((server_tokens, text, ended_by_eos))

    def run_token_check(self) -> None:
        """Count the kept texts with the tokenizer (done once, at the end: it costs CPU the load needs)."""
        if not self.texts:
            return
        from orchestrator.tokens import get_tokenizer

        tok = get_tokenizer()
        for server, text, eos in self.texts:
            # the tokenizer adds its own leading "▁" (dummy prefix): a text that starts with the first token's
            # space would be counted one token too many
            counted = tok.count(text.removeprefix(" "), add_bos=False) + (1 if eos else 0)
            self.token_check.requests += 1
            self.token_check.server_tokens += server
            self.token_check.tokenizer_tokens += counted
            self.token_check.abs_difference += abs(server - counted)
        self.texts.clear()

    # worker side ---------------------------------------------------------------------------------------------
    def drain(self) -> dict[str, Any]:
        """The part of a worker's report that the master has not seen yet."""
        rows = [s.to_row() for s in self.samples[self._unsent :]]
        self._unsent = len(self.samples)
        arrivals = {k: v - self._arrivals_sent[k] for k, v in self.arrivals.items()}
        self._arrivals_sent = dict(self.arrivals)
        check = TokenCheck(
            self.token_check.requests - self._check_sent.requests,
            self.token_check.server_tokens - self._check_sent.server_tokens,
            self.token_check.tokenizer_tokens - self._check_sent.tokenizer_tokens,
            self.token_check.abs_difference - self._check_sent.abs_difference,
        )
        self._check_sent = TokenCheck(
            self.token_check.requests,
            self.token_check.server_tokens,
            self.token_check.tokenizer_tokens,
            self.token_check.abs_difference,
        )
        cpu = self.cpu_s - self._cpu_sent
        self._cpu_sent = self.cpu_s
        workload, self._workload_sent = ({} if self._workload_sent else self.workload), True
        return {
            "workload": workload,
            "worker": self.worker,
            "cpu_s": cpu,
            "samples": rows,
            "arrivals": arrivals,
            "token_check": [
                check.requests,
                check.server_tokens,
                check.tokenizer_tokens,
                check.abs_difference,
            ],
        }

    # master side ---------------------------------------------------------------------------------------------
    def merge(self, part: Mapping[str, Any]) -> None:
        """Fold one drained report into this (master's) collector."""
        self.workers_seen.add(int(part.get("worker", 0)))
        self.samples.extend(Sample.from_row(row) for row in part.get("samples", ()))
        for key, value in dict(part.get("arrivals", {})).items():
            self.arrivals[key] = self.arrivals.get(key, 0) + int(value)
        self.cpu_s += float(part.get("cpu_s", 0.0))
        if not self.workload and part.get("workload"):
            self.workload = dict(part["workload"])
        check: Sequence[int] = part.get("token_check", (0, 0, 0, 0))
        self.token_check.add(TokenCheck(*check))

    def reset(self) -> None:
        self.samples.clear()
        self.texts.clear()
        self._unsent = 0
        self.arrivals = dict.fromkeys(ARRIVAL_COUNTERS, 0)
        self._arrivals_sent = dict(self.arrivals)
        self.token_check = TokenCheck()
        self._check_sent = TokenCheck()
        self.cpu_s = self._cpu_sent = 0.0
