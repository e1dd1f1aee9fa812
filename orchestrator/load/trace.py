"""`--trace FILE`: requests at recorded arrival offsets (open loop), scaled by `--time-scale`.

One JSON object per line: the arrival offset, and either token counts or a prompt:

- offset: `"offset"` (seconds from the trace's start) or `"timestamp"` (milliseconds, as Mooncake's traces and
  NVIDIA AIPerf's `mooncake_trace` format write it); the first arrival is sent at the window's start, the others
  at their offsets from it (offsets are taken relative to the earliest one), times `--time-scale` (0.5 = twice as
  fast);
- token counts: `"input_tokens"` / `"input_length"` (a synthetic prompt of exactly that many tokens) and
  `"output_tokens"` / `"output_length"` (its `max_new_tokens`; else `--output-tokens`);
- or a prompt, in any `--dataset` line format (`prompt`, `messages`, `conversations`), with `max_new_tokens`.

Lines are sorted by offset. Entries the server would refuse (over its input limits) are skipped and counted, like
a dataset's. The run is open loop: latency counts from the scheduled send, lateness and drops as for `--rate`
(`arrivals.py`); it ends when every entry was sent (or dropped) and answered, or at `--duration`. With several
processes, process i sends entries i, i + P, ...
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.load.datasets import NO_LIMITS, InputLimits, jsonl_objects, parse_row
from orchestrator.load.prompts import LengthDistribution, PromptError, PromptSpec, SyntheticPrompts

__all__ = ["TraceEntry", "TracePrompts", "read_trace"]

_INPUT_KEYS = ("input_tokens", "input_length")
_OUTPUT_KEYS = ("output_tokens", "output_length", "max_new_tokens", "max_tokens")


@dataclass(frozen=True, slots=True)
class TraceEntry:
    offset_s: float
    line: int
    spec: PromptSpec | None
    """a prompt from the line; None: a synthetic prompt of `input_tokens`"""
    input_tokens: int
    output_tokens: int | None


def _count(item: dict[str, Any], keys: tuple[str, ...], where: str) -> int | None:
    for key in keys:
        if key in item:
            value = item[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PromptError(f"{where}: {key} {value!r} must be a positive integer")
            return value
    return None


def _offset(item: dict[str, Any], where: str) -> float:
    if "offset" in item:
        value, scale, key = item["offset"], 1.0, "offset"
    elif "timestamp" in item:
        value, scale, key = item["timestamp"], 0.001, "timestamp"
    else:
        raise PromptError(f"{where}: needs an arrival 'offset' (seconds) or 'timestamp' (milliseconds)")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise PromptError(f"{where}: {key} {value!r} must be a number of at least 0")
    return float(value) * scale


def _entry(item: Any, where: str, line: int) -> TraceEntry:
    if not isinstance(item, dict):
        raise PromptError(f"{where}: expected an object with an offset and token counts or a prompt")
    offset = _offset(item, where)
    output = _count(item, _OUTPUT_KEYS, where)
    if any(key in item for key in ("prompt", "messages", "conversations")):
        row = parse_row(item, where, line=line)
        if row is None:
            raise PromptError(f"{where}: the conversation has no human turn to send")
        budget = row.spec.max_new_tokens or output
        return TraceEntry(offset, line, row.spec, row.spec.input_tokens or 0, budget)
    inputs = _count(item, _INPUT_KEYS, where)
    if inputs is None:
        raise PromptError(f"{where}: needs 'input_tokens' (or 'input_length') or a 'prompt'")
    return TraceEntry(offset, line, None, inputs, output)


def read_trace(path: Path) -> list[TraceEntry]:
    """The entries of `path`, by offset, the earliest at 0; `PromptError` naming the file and line of a bad one."""
    entries = [_entry(item, where, number) for number, item, where in jsonl_objects(path, "--trace")]
    if not entries:
        raise PromptError(f"--trace {str(path)!r} holds no requests; add JSON lines (see docs/loadtest.md)")
    entries.sort(key=lambda e: e.offset_s)
    first = entries[0].offset_s
    return [TraceEntry(e.offset_s - first, e.line, e.spec, e.input_tokens, e.output_tokens) for e in entries]


class TracePrompts:
    """This process's share of a trace: its entries' offsets (scaled) and the prompt of each, by slot number."""

    def __init__(
        self,
        path: Path,
        output_tokens: LengthDistribution,
        synthetic: SyntheticPrompts,
        *,
        time_scale: float = 1.0,
        limits: InputLimits = NO_LIMITS,
        seed: int | None = None,
        index: int = 0,
        processes: int = 1,
    ) -> None:
        if time_scale <= 0:
            raise PromptError(f"--time-scale {time_scale:g}: must be above 0 (0.5 replays twice as fast)")
        self.path = path
        entries = read_trace(path)
        self.entries_read = len(entries)
        ceiling = output_tokens.upper
        usable = [e for e in entries if limits.admits(e.input_tokens, e.output_tokens or ceiling)]
        self.skipped_over_limit = len(entries) - len(usable)
        self.span_s = (entries[-1].offset_s if entries else 0.0) * time_scale
        self.time_scale = time_scale
        self.limits = limits
        self._mine = usable[index % max(1, processes) :: max(1, processes)]
        self._output = output_tokens
        self._synthetic = synthetic
        self._rng = random.Random(seed)

    @property
    def offsets(self) -> list[float]:
        """Seconds after the window's start at which this process sends its entries, in order."""
        return [e.offset_s * self.time_scale for e in self._mine]

    def __len__(self) -> int:
        return len(self._mine)

    def at(self, number: int) -> PromptSpec:
        """The prompt of this process's `number`-th entry (its `number`-th arrival slot)."""
        entry = self._mine[min(number, len(self._mine) - 1)]
        budget = entry.output_tokens or max(1, self._output.sample(self._rng))
        if entry.spec is not None:
            spec = entry.spec
            return PromptSpec(spec.text, spec.messages, spec.input_tokens, budget, entry.line)
        return self._synthetic.make(entry.input_tokens, budget)

    def next(self) -> PromptSpec:
        return self.at(0)

    def describe(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "entries_read": self.entries_read,
            "skipped_over_limit": self.skipped_over_limit,
            "limits": self.limits.to_dict(),
            "time_scale": self.time_scale,
            "span_s": self.span_s,
            "meaning": "sent at the recorded offsets x time_scale from the window's start (open loop); "
            "lateness and drops as for --rate",
        }
