"""`--dataset FILE`: prompts from a JSONL file in one of the formats users already have on disk.

One JSON object per line, each line one of (the format is told per line, so files may mix them):

- `{"prompt": "...", "max_new_tokens": 128}`: one user turn (`max_tokens` is read too);
- `{"messages": [{"role": "user", "content": "..."}, ...]}` (OpenAI chat): sent as the conversation it is; a
  trailing assistant message is the reference answer: it is not sent, its token count is the output length;
- `{"conversations": [{"from": "human", "value": "..."}, {"from": "gpt", "value": "..."}, ...]}` (ShareGPT): the
  first human turn is the prompt and the reply after it gives the output length (as vLLM's `bench serve` reads
  ShareGPT); the later human turns are the follow-ups of a multi-turn session (`--turns`).

Output length: the line's own (`max_new_tokens`, or the reference answer's tokens), else `--output-tokens`;
`--output-from flags` always takes `--output-tokens`. A line that is not JSON or not one of these shapes fails the
run before anything is sent, naming the file and line; a ShareGPT conversation with no human turn (common in
public dumps) is skipped and counted. Prompts the server would refuse (input over its `max_input_tokens`, or input
+ output over `max_total_tokens`) are skipped and counted, not sent to fail. Order: a seeded permutation of the
usable rows, a new one each pass; with several processes each takes every P-th row of it, so together they walk
each permutation once. Every prompt is counted with the tokenizer once, at load, never per request.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.load.prompts import LengthDistribution, PromptError, PromptSpec
from orchestrator.tokens import ChatTemplateError, format_chat, format_prompt, get_tokenizer

__all__ = [
    "NO_LIMITS",
    "OUTPUT_FROM",
    "DatasetPrompts",
    "DatasetRow",
    "InputLimits",
    "PromptFile",
    "jsonl_objects",
    "parse_row",
    "read_rows",
    "server_limits",
]

OUTPUT_FROM = ("file", "flags")
_USER = ("human", "user")
_ASSISTANT = ("gpt", "assistant", "chatgpt", "model", "bard", "bing")


@dataclass(frozen=True, slots=True)
class InputLimits:
    """The server's limits (TGI's `/info`): prompts beyond them would be refused with 422."""

    max_input_tokens: int | None = None
    max_total_tokens: int | None = None

    def admits(self, input_tokens: int, output_tokens: int) -> bool:
        if self.max_input_tokens and input_tokens > self.max_input_tokens:
            return False
        return not (self.max_total_tokens and input_tokens + output_tokens > self.max_total_tokens)

    def to_dict(self) -> dict[str, int | None]:
        return {"max_input_tokens": self.max_input_tokens, "max_total_tokens": self.max_total_tokens}


NO_LIMITS = InputLimits()


def server_limits(info: bytes | None) -> InputLimits:
    """The limits a server states: TGI's `/info` (`max_input_tokens`, older `max_input_length`, and
    `max_total_tokens`), or vLLM's `/v1/models` (`max_model_len`: a prompt must be shorter; the output is clamped
    to the rest, so there is no total to skip on); none known when it gives none (nothing is skipped then)."""
    try:
        data = json.loads(info) if info else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        return InputLimits()
    models = data.get("data")
    if isinstance(models, list) and models and isinstance(models[0], dict):
        length = models[0].get("max_model_len")
        if isinstance(length, int) and not isinstance(length, bool) and length > 1:
            return InputLimits(length - 1, None)
        return InputLimits()

    def number(*keys: str) -> int | None:
        for key in keys:
            value = data.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
        return None

    return InputLimits(number("max_input_tokens", "max_input_length"), number("max_total_tokens"))


@dataclass(frozen=True, slots=True)
class DatasetRow:
    """One usable line: the request it makes, its file line, its own output length and later user turns."""

    line: int
    format: str
    """prompt | messages | sharegpt"""
    spec: PromptSpec
    """input_tokens counted; max_new_tokens 0 when the line has none (the flags give it)"""
    follow_ups: tuple[str, ...] = ()


def _budget(item: Mapping[str, Any], where: str) -> int | None:
    budget = item.get("max_new_tokens", item.get("max_tokens"))
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1):
        raise PromptError(f"{where}: max_new_tokens {budget!r} must be a positive integer")
    return budget if isinstance(budget, int) else None


def _sharegpt(turns: Any, where: str) -> tuple[str, int | None, tuple[str, ...]] | None:
    """(first human turn, its reply's token count, later human turns); None: no human turn (skipped)."""
    if not isinstance(turns, list) or not all(
        isinstance(t, dict) and isinstance(t.get("from"), str) and isinstance(t.get("value"), str)
        for t in turns
    ):
        raise PromptError(
            f'{where}: \'conversations\' must be a list of {{"from": ..., "value": ...}} strings'
        )
    roles = [str(t["from"]).lower() for t in turns]
    unknown = sorted({r for r in roles if r not in (*_USER, *_ASSISTANT, "system")})
    if unknown:
        raise PromptError(f"{where}: unknown speaker {unknown[0]!r}; use human/user, gpt/assistant or system")
    first = next((i for i, r in enumerate(roles) if r in _USER), None)
    if first is None:
        return None
    reply = next((t["value"] for t, r in zip(turns[first + 1 :], roles[first + 1 :], strict=True)
                  if r in _ASSISTANT), None)  # fmt: skip
    later = tuple(
        t["value"] for t, r in zip(turns[first + 1 :], roles[first + 1 :], strict=True) if r in _USER
    )
    counted = get_tokenizer().count(reply, add_bos=False) if reply else None
    return turns[first]["value"], counted or None, later


def parse_row(item: Any, where: str, *, line: int, answer_as_length: bool = True) -> DatasetRow | None:
    """One decoded line as a row; None for a ShareGPT conversation without a human turn. `PromptError` names
    `where` (the file and line) and the fix. `answer_as_length`: a trailing assistant message is the reference
    answer (not sent; its length is the output length) rather than part of the prompt."""
    tok = get_tokenizer()
    if not isinstance(item, dict):
        raise PromptError(f"{where}: expected an object with 'prompt', 'messages' or 'conversations'")
    budget = _budget(item, where)
    if isinstance(item.get("prompt"), str):
        text = item["prompt"]
        return DatasetRow(
            line, "prompt", PromptSpec(text, None, tok.count(format_prompt(text)), budget or 0, line)
        )
    if isinstance(item.get("messages"), list):
        messages = tuple(item["messages"])
        if not all(isinstance(m, dict) for m in messages):
            raise PromptError(
                f'{where}: \'messages\' must be a list of {{"role": ..., "content": ...}} objects'
            )
        if answer_as_length and len(messages) > 1 and messages[-1].get("role") == "assistant":
            answer = str(messages[-1].get("content") or "")
            messages = messages[:-1]
            budget = budget or tok.count(answer, add_bos=False) or None
        try:
            count = tok.count(format_chat(messages), add_bos=False)
        except ChatTemplateError as exc:
            raise PromptError(f"{where}: {exc}; fix the conversation") from exc
        return DatasetRow(line, "messages", PromptSpec(None, messages, count, budget or 0, line))
    if "conversations" in item:
        found = _sharegpt(item["conversations"], where)
        if found is None:
            return None
        text, reply_tokens, later = found
        spec = PromptSpec(text, None, tok.count(format_prompt(text)), budget or reply_tokens or 0, line)
        return DatasetRow(line, "sharegpt", spec, later)
    raise PromptError(f"{where}: needs a string 'prompt', a list 'messages' or a list 'conversations'")


def jsonl_objects(path: Path, setting: str) -> Iterator[tuple[int, Any, str]]:
    """`(line number, decoded value, "<setting> '<path>' line N")` for each non-blank line of a JSONL file;
    `PromptError` naming the file (and line) when it cannot be read or a line is not JSON."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"{setting} {str(path)!r} cannot be read ({exc}); pass a UTF-8 JSONL file") from exc
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{setting} {str(path)!r} line {number}"
        try:
            item = json.loads(raw)
        except ValueError as exc:
            raise PromptError(f"{where} is not JSON ({exc}); write one JSON object per line") from exc
        yield number, item, where


def read_rows(
    path: Path, *, setting: str = "--dataset", answer_as_length: bool = True
) -> tuple[list[DatasetRow], int]:
    """Every usable row of `path` and how many conversations had no human turn; `PromptError` on a bad line."""
    rows: list[DatasetRow] = []
    no_user_turn = 0
    for number, item, where in jsonl_objects(path, setting):
        row = parse_row(item, where, line=number, answer_as_length=answer_as_length)
        if row is None:
            no_user_turn += 1
        else:
            rows.append(row)
    if not rows:
        raise PromptError(f"{setting} {str(path)!r} holds no prompts; add JSON lines (see docs/loadtest.md)")
    return rows, no_user_turn


class PromptFile:
    """`--prompts-file`: the lines of a JSONL file in order, round robin, sent as they are (a trailing assistant
    message included). Requests without their own `max_new_tokens` take one from `output_tokens`."""

    def __init__(self, path: Path, output_tokens: LengthDistribution, *, seed: int | None = None) -> None:
        self.path = path
        self.output_tokens = output_tokens
        self._rng = random.Random(seed)
        rows, _ = read_rows(path, setting="--prompts-file", answer_as_length=False)
        self._cycle = itertools.cycle([row.spec for row in rows])
        self._count = len(rows)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def next(self) -> PromptSpec:
        with self._lock:
            spec = next(self._cycle)
            if spec.max_new_tokens:
                return spec
            budget = max(1, self.output_tokens.sample(self._rng))
        return PromptSpec(spec.text, spec.messages, spec.input_tokens, budget)


class DatasetPrompts:
    """The rows of a dataset file, in a seeded order, without those the server would refuse."""

    def __init__(
        self,
        path: Path,
        output_tokens: LengthDistribution,
        *,
        output_from: str = "file",
        seed: int | None = None,
        limits: InputLimits = NO_LIMITS,
        index: int = 0,
        processes: int = 1,
    ) -> None:
        self.path = path
        self.output_tokens = output_tokens
        self.use_file_lengths = output_from == "file"
        self.limits = limits
        rows, self.no_user_turn = read_rows(path)
        self.rows_read = len(rows)
        ceiling = output_tokens.upper
        usable = [
            r for r in rows if limits.admits(r.spec.input_tokens or 0, self._planned(r.spec) or ceiling)
        ]
        self.skipped_over_limit = len(rows) - len(usable)
        if not usable:
            raise PromptError(
                f"--dataset {str(path)!r}: all {len(rows)} prompts exceed the server's limits "
                f"(max_input_tokens {limits.max_input_tokens}, max_total_tokens {limits.max_total_tokens}); "
                "use shorter prompts or a server with a longer context"
            )
        self.rows = usable
        self._rng = random.Random(seed)
        self._index, self._processes = index, max(1, processes)
        self._order: list[int] = []
        self._position = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.rows)

    def _planned(self, spec: PromptSpec) -> int:
        return spec.max_new_tokens if self.use_file_lengths else 0

    def _next_row(self) -> DatasetRow:
        with self._lock:
            while self._position >= len(self._order):
                self._order = list(range(len(self.rows)))
                self._rng.shuffle(self._order)  # every process draws the same permutation (same seed)
                self._position = self._index % max(1, len(self._order))
            row = self.rows[self._order[self._position]]
            self._position += self._processes
            budget = self._planned(row.spec) or max(1, self.output_tokens.sample(self._rng))
        spec = row.spec
        return DatasetRow(row.line, row.format, PromptSpec(spec.text, spec.messages, spec.input_tokens, budget,
                                                           spec.number), row.follow_ups)  # fmt: skip

    def next_row(self) -> DatasetRow:
        """The next row with its output length settled (for sessions, which need the follow-ups too)."""
        return self._next_row()

    def next(self) -> PromptSpec:
        return self._next_row().spec

    def describe(self) -> dict[str, Any]:
        formats: dict[str, int] = {}
        for row in self.rows:
            formats[row.format] = formats.get(row.format, 0) + 1
        return {
            "path": str(self.path),
            "rows_read": self.rows_read,
            "rows_used": len(self.rows),
            "formats": formats,
            "skipped_over_limit": self.skipped_over_limit,
            "skipped_no_user_turn": self.no_user_turn,
            "limits": self.limits.to_dict(),
            "output_lengths": "file, else --output-tokens" if self.use_file_lengths else "--output-tokens",
        }
