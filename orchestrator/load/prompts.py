"""Prompts for load tests: synthetic ones with exact Mistral token lengths (files of prompts: `datasets.py`).

Synthetic prompts are `Request 38461547: <filler words>` inside the `[INST] ... [/INST]` template. The Mistral
tokenizer splits digits into single tokens, so the 8-digit request number always costs the same tokens: the
filler is built and checked once with the tokenizer, then each request only picks its number and its window of
filler words. By default (`unique_prefix=True`) every prompt differs from every other one from its first token
after the template to its last: request numbers are scattered (consecutive requests differ in their leading
digits) and each request's filler is a different window of one long random word sequence, ending at a different
place. So no engine's prefix cache or deduplication can serve one request from an earlier one, and an engine (or
the emulator) seeding its output from the prompt gives each request its own output. `unique_prefix=False` sends
the same prompt for a length every time, to study caching.

Input length counts what the server counts: BOS + the templated prompt (TGI's `input_length`, the chat route's
`usage.prompt_tokens`). Both routes template a single user turn the same way, so one length fits both.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from orchestrator.tokens import format_chat, format_prompt, get_tokenizer

__all__ = [
    "LengthDistribution",
    "PromptError",
    "PromptSpec",
    "SyntheticPrompts",
    "parse_distribution",
]


class PromptError(ValueError):
    """A prompt setting or file that cannot be used; the message names the setting, the value and the fix."""


@dataclass(frozen=True, slots=True)
class LengthDistribution:
    """Token lengths: `fixed` (a), `uniform` (a..b inclusive) or `normal` (mean a, std b, clipped to lo..hi)."""

    kind: str
    a: float
    b: float = 0.0
    lo: int = 1
    hi: int = 1_000_000

    def sample(self, rng: random.Random) -> int:
        if self.kind == "fixed":
            return int(self.a)
        if self.kind == "uniform":
            return rng.randint(int(self.a), int(self.b))
        value = round(rng.gauss(self.a, self.b))
        return max(self.lo, min(self.hi, value))

    @property
    def upper(self) -> int:
        """The largest length a draw can give (to check a server's limits before sending)."""
        if self.kind == "fixed":
            return int(self.a)
        return int(self.b) if self.kind == "uniform" else self.hi

    def __str__(self) -> str:
        if self.kind == "fixed":
            return f"fixed:{int(self.a)}"
        if self.kind == "uniform":
            return f"uniform:{int(self.a)},{int(self.b)}"
        return f"normal:{self.a:g},{self.b:g},{self.lo},{self.hi}"


def parse_distribution(text: str, *, setting: str = "--input-tokens") -> LengthDistribution:
    """`128`, `fixed:128`, `uniform:64,256` or `normal:200,50[,lo,hi]` (bounds default to 1 and mean + 4 std)."""
    raw = text.strip()
    kind, _, rest = raw.partition(":") if ":" in raw else ("fixed", "", raw)
    try:
        nums = [float(x) for x in rest.split(",") if x.strip()]
    except ValueError:
        nums = []
    hint = f"{setting} {text!r}: use 128, fixed:128, uniform:64,256 or normal:200,50,16,1000"
    if kind == "fixed" and len(nums) == 1 and nums[0] >= 1:
        return LengthDistribution("fixed", nums[0])
    if kind == "uniform" and len(nums) == 2 and 1 <= nums[0] <= nums[1]:
        return LengthDistribution("uniform", nums[0], nums[1])
    if kind == "normal" and len(nums) in (2, 4) and nums[1] >= 0:
        lo = int(nums[2]) if len(nums) == 4 else 1
        hi = int(nums[3]) if len(nums) == 4 else max(lo, int(nums[0] + 4 * nums[1]))
        if 1 <= lo <= hi:
            return LengthDistribution("normal", nums[0], nums[1], lo, hi)
    raise PromptError(f"invalid length distribution {hint}")


@dataclass(frozen=True, slots=True)
class PromptSpec:
    """One request's prompt: either a user text or a conversation, with the lengths we expect."""

    text: str | None
    messages: tuple[Mapping[str, Any], ...] | None
    input_tokens: int | None
    max_new_tokens: int
    number: int | None = None

    def as_inputs(self) -> str:
        """`inputs` for the native routes (TGI adds BOS itself, so the template's `<s>` is dropped)."""
        if self.messages is not None:
            return format_chat(self.messages).removeprefix("<s>")
        return format_prompt(self.text or "")

    def as_messages(self) -> list[dict[str, Any]]:
        if self.messages is not None:
            return [dict(m) for m in self.messages]
        return [{"role": "user", "content": self.text or ""}]


_PREFIX_DIGITS = 8
_NUMBER_STRIDE = (
    38_461_547  # coprime with 10**8: numbers visit all 10**8 values, consecutive ones look unrelated
)
_WINDOW_ENDS = (
    32_768  # distinct places a filler window can end (so tails differ for this many requests in a row)
)
_END_STRIDE = 12_345  # coprime with _WINDOW_ENDS: consecutive requests' windows end far apart


class SyntheticPrompts:
    """Prompts of exact token lengths drawn from two distributions (input and output).

    Filler words are vocabulary pieces `▁word` that the tokenizer maps back to exactly one token; SentencePiece
    never merges across a space, so `n` such words joined by spaces are exactly `n` tokens. One long random word
    sequence is built (and checked) once; a prompt of any length is then a slice of it: no tokenizer call per
    request, which would stall the load process and delay the timing of every other stream it reads.
    """

    def __init__(
        self,
        input_tokens: LengthDistribution,
        output_tokens: LengthDistribution,
        *,
        unique_prefix: bool = True,
        seed: int | None = None,
        max_tokens: int = 32_768,
    ) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.unique_prefix = unique_prefix
        self._rng = random.Random(seed)
        self._sequence = itertools.count(self._rng.randrange(10**_PREFIX_DIGITS))
        tok = get_tokenizer()
        self._overhead = tok.count(format_prompt(self._prefix(0)))
        if self.input_tokens.kind == "fixed" and int(self.input_tokens.a) < self._overhead:
            raise PromptError(
                f"--input-tokens {int(self.input_tokens.a)} is below the {self._overhead} tokens of the template "
                f"and the request prefix; use at least {self._overhead}"
            )
        words = _single_token_words()
        rng = random.Random(1234)
        self._max_words = max(0, max_tokens - self._overhead)
        sequence = [rng.choice(words) for _ in range(self._max_words + _WINDOW_ENDS)]
        self._text = " ".join(sequence)
        # _ends[n] = length of the text holding the first n words (word n starts at _ends[n] + 1 for n > 0)
        self._ends = [0]
        for word in sequence:
            self._ends.append(self._ends[-1] + len(word) + (1 if len(self._ends) > 1 else 0))
        self.max_tokens = max_tokens

    @property
    def min_input_tokens(self) -> int:
        return self._overhead

    def _prefix(self, number: int) -> str:
        return f"Request {number % 10**_PREFIX_DIGITS:0{_PREFIX_DIGITS}d}:"

    def filler(self, length: int, end: int | None = None) -> str:
        """Words that bring the templated prompt to exactly `length` tokens, the window ending at word `end`."""
        words = max(0, min(length, self.max_tokens) - self._overhead)
        stop = self._max_words if end is None else end
        start = stop - words
        return self._text[self._ends[start] + (1 if start > 0 else 0) : self._ends[stop]] if words else ""

    def next(self) -> PromptSpec:
        length = self.input_tokens.sample(self._rng)
        return self.make(length, max(1, self.output_tokens.sample(self._rng)))

    def make(self, length: int, max_new_tokens: int) -> PromptSpec:
        """A prompt of exactly `length` tokens (at least the template's, at most `max_tokens`): a trace's lengths."""
        length = min(self.max_tokens, max(self._overhead, length))
        if self.unique_prefix:
            index = next(self._sequence)
            number = index * _NUMBER_STRIDE % 10**_PREFIX_DIGITS
            end = self._max_words + index * _END_STRIDE % _WINDOW_ENDS
        else:
            number, end = 0, self._max_words
        filler = self.filler(length, end)
        text = f"{self._prefix(number)} {filler}" if filler else self._prefix(number)
        return PromptSpec(text, None, length, max_new_tokens, number)


@lru_cache(maxsize=1)
def _single_token_words() -> tuple[str, ...]:
    """Lower-case ASCII words that are one vocabulary piece and that the tokenizer encodes as that one piece."""
    tok = get_tokenizer()
    out = []
    for token_id, piece in enumerate(tok.pieces()[:6000]):
        word = piece[1:]
        if (
            piece.startswith("\u2581")
            and word.isascii()
            and word.isalpha()
            and word.islower()
            and len(word) >= 3
        ) and tok.encode(word, add_bos=False) == [token_id]:
            out.append(word)
    return tuple(out)


def sample_lengths(dist: LengthDistribution, n: int, seed: int = 0) -> Sequence[int]:
    """`n` draws, for tests and previews."""
    rng = random.Random(seed)
    return [dist.sample(rng) for _ in range(n)]
