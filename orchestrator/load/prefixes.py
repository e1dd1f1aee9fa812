"""`--shared-prefix-tokens K --prefix-groups G`: every prompt starts with one of G prefixes of exactly K tokens.

Why: an engine with a prefix cache (vLLM's automatic prefix caching, TGI's prefix caching since 3.0) skips the
prefill of a prefix it has seen. With G = 1 every request shares its first K tokens (the cache's best case); with G
equal to the number of requests no two share one (its worst case); in between, the hit rate a real system prompt
mix gives. The report says which was used (`summary.json` → `workload.prefix`).

A prefix is K words that are each one vocabulary piece (`▁word`), so it is exactly K tokens with the real
tokenizer wherever it stands after a space (SentencePiece never merges across one): in front of a prompt's text,
or of a conversation's first message. The prompt's input length grows by exactly K. Group g's first word is word
g mod W of a seeded order of the W (~1,900) one-token words and its second word g div W of another, so groups
differ from their first token after the template for up to W groups, and from the first or second for up to W²
(millions); the rest of each prefix is the same seeded words. Requests take the groups in turn (request n: group
n mod G; with several processes, process i's n-th request is global request i + n·P).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from orchestrator.load.prompts import PromptError, PromptSpec, _single_token_words

__all__ = ["PrefixGroups", "PrefixPlan"]


@dataclass(frozen=True, slots=True)
class PrefixPlan:
    """What the options ask: K tokens, G groups (0 tokens: no prefix)."""

    tokens: int = 0
    groups: int = 1

    def check(self) -> None:
        if self.tokens < 0:
            raise PromptError(f"--shared-prefix-tokens {self.tokens}: must be 0 (none) or a token count")
        if self.groups < 1:
            raise PromptError(f"--prefix-groups {self.groups}: must be at least 1 (1 = one prefix for all)")
        if self.groups > 1 and not self.tokens:
            raise PromptError(
                f"--prefix-groups {self.groups} needs --shared-prefix-tokens K (the prefix length)"
            )
        if self.tokens == 1 and self.groups > len(_single_token_words()):
            raise PromptError(
                f"--prefix-groups {self.groups}: one-token prefixes allow at most {len(_single_token_words())} "
                "distinct groups; use --shared-prefix-tokens 2 or more"
            )

    def describe(self) -> dict[str, Any]:
        if not self.tokens:
            return {"tokens": 0, "groups": 0, "meaning": "no shared prefix"}
        return {
            "tokens": self.tokens,
            "groups": self.groups,
            "meaning": f"every prompt starts with one of {self.groups} prefixes of exactly {self.tokens} tokens "
            "(request n takes group n mod groups); groups differ from their first token after the template "
            "(from their first or second beyond ~1,900 groups)",
        }


@lru_cache(maxsize=1)
def _shuffled_words() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Two seeded orders of the one-token words: group g's first word is `a[g mod W]`, its second `b[g div W]`."""
    words = list(_single_token_words())
    first, second = list(words), list(words)
    random.Random(11).shuffle(first)
    random.Random(13).shuffle(second)
    return tuple(first), tuple(second)


@lru_cache(maxsize=8)
def _tail(tokens: int) -> str:
    """The part after a prefix's two leading words: the same seeded words for every group (built once)."""
    words = _single_token_words()
    rng = random.Random(tokens)
    return " ".join(rng.choice(words) for _ in range(max(0, tokens - 2)))


def _prefix_text(tokens: int, group: int) -> str:
    first, second = _shuffled_words()
    count = len(first)
    head = (
        first[group % count] if tokens == 1 else f"{first[group % count]} {second[(group // count) % count]}"
    )
    tail = _tail(tokens)
    return f"{head} {tail}" if tail else head


class PrefixGroups:
    """Hands each request its group's prefix, in turn; `apply` puts it in front of a prompt."""

    def __init__(self, plan: PrefixPlan, *, index: int = 0, processes: int = 1) -> None:
        plan.check()
        self.plan = plan
        self._numbers = itertools.count(index, max(1, processes))

    def prefix(self, number: int) -> str:
        return _prefix_text(self.plan.tokens, number % self.plan.groups)

    def apply(self, spec: PromptSpec) -> PromptSpec:
        """`spec` with the next request's prefix in front of its first text; input length + K."""
        prefix = self.prefix(next(self._numbers))
        grown = None if spec.input_tokens is None else spec.input_tokens + self.plan.tokens
        if spec.messages is not None:
            first, *rest = spec.messages
            content = f"{prefix} {first.get('content') or ''}"
            return replace(spec, messages=({**first, "content": content}, *rest), input_tokens=grown)
        return replace(spec, text=f"{prefix} {spec.text or ''}", input_tokens=grown)
