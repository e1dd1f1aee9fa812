"""What one load process sends: its prompt source, prefix groups, sessions and trace, put together.

Built from the checked options (`LoadOptions.workload`) in every load process, and once in `orchestrator load`
before Locust starts (so a bad dataset or trace line fails then, with nothing sent). Users ask it for a `Session`
(`session()`); each request's prompt comes from `Session.next`, which opens with `opening`: the trace's entry for
the arrival slot, else the next dataset row, `--prompts-file` line or synthetic prompt, with the prefix (if any)
in front. Nothing here talks to Locust or a server, so an A/B run can build the same workload for two endpoints
from one seed and send both the same prompts in the same order.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from orchestrator.load.datasets import DatasetPrompts, PromptFile
from orchestrator.load.prefixes import PrefixGroups
from orchestrator.load.prompts import PromptSpec, SyntheticPrompts
from orchestrator.load.sessions import Session
from orchestrator.load.trace import TracePrompts

if TYPE_CHECKING:
    from orchestrator.load.options import LoadOptions

__all__ = ["Workload"]


class Workload:
    """One process's share of the run's prompts (process `worker` of `processes`)."""

    def __init__(self, options: LoadOptions, *, worker: int = 0, processes: int = 1) -> None:
        self.options = options
        self.worker, self.processes = worker, max(1, processes)
        seed = options.seed
        self._seed = None if seed is None else seed + worker
        self.dataset = (
            DatasetPrompts(options.dataset, options.output_tokens, output_from=options.output_from, seed=seed,
                           limits=options.limits, index=worker, processes=self.processes)
            if options.dataset is not None
            else None
        )  # fmt: skip
        self.file = (
            PromptFile(options.prompts_file, options.output_tokens, seed=seed)
            if options.prompts_file
            else None
        )
        self.trace = (
            TracePrompts(options.trace, options.output_tokens, self.synthetic, time_scale=options.time_scale,
                         limits=options.limits, seed=self._seed, index=worker, processes=self.processes)
            if options.trace is not None
            else None
        )  # fmt: skip
        plan = options.prefix
        self.prefix = PrefixGroups(plan, index=worker, processes=self.processes) if plan.tokens else None
        if self.dataset is None and self.file is None and self.trace is None:
            _ = self.synthetic  # a too-short --input-tokens fails now, not at the first request

    @cached_property
    def synthetic(self) -> SyntheticPrompts:
        """Synthetic prompts: the source without a file, a trace's token-count entries, sessions' later turns."""
        o = self.options
        return SyntheticPrompts(
            o.input_tokens, o.output_tokens, unique_prefix=o.unique_prefix, seed=self._seed
        )

    def opening(self, slot: int | None) -> tuple[PromptSpec, tuple[str, ...]]:
        """A request (a session's first turn): its prompt, and the follow-up user turns its source holds."""
        follow_ups: tuple[str, ...] = ()
        if self.trace is not None:
            spec = self.trace.at(slot or 0)
        elif self.dataset is not None:
            row = self.dataset.next_row()
            spec, follow_ups = row.spec, row.follow_ups
        elif self.file is not None:
            spec = self.file.next()
        else:
            spec = self.synthetic.next()
        if self.prefix is not None:
            spec = self.prefix.apply(spec)
        return spec, follow_ups

    def session(self) -> Session:
        """A user's session (single requests when `--turns` is 1)."""
        return Session(self.options.sessions, self.opening, lambda: self.synthetic.next())

    @property
    def trace_offsets(self) -> list[float] | None:
        return None if self.trace is None else self.trace.offsets

    @property
    def source(self) -> str:
        if self.trace is not None:
            return "trace"
        if self.dataset is not None:
            return "dataset"
        return "prompts_file" if self.file is not None else "synthetic"

    def describe(self) -> dict[str, Any]:
        """`summary.json` → `workload`: what was sent, and what was skipped."""
        o = self.options
        out: dict[str, Any] = {
            "source": self.source,
            "prefix": o.prefix.describe()
            if o.prefix.tokens
            else {"tokens": 0, "groups": 0,
                  "meaning": "every prompt the same (--shared-prefix)" if not o.unique_prefix
                  else "no shared prefix: prompts differ from their first token after the template"},
            "sessions": o.sessions.describe(),
        }  # fmt: skip
        if self.dataset is not None:
            out["dataset"] = self.dataset.describe()
        if self.trace is not None:
            out["trace"] = self.trace.describe()
        return out
