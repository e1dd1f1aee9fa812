"""One generated sequence: which tokens come next, when it stops, and who is waiting for it. No I/O.

Token choice is deterministic: greedy requests (TGI's default without `do_sample`) draw from a seed derived from
the whole prompt, so the same prompt always gives the same text, as greedy decoding does; sampling requests from
the prompt and their `seed` (a random one when the request has none, as TGI draws), so two sampled requests
differ even for the same prompt unless they share a seed. Stopping follows TGI's StoppingCriteria order: length first, then EOS, then stop sequences
(the text generated so far ends with one of them); vLLM's extras (`min_tokens`, `ignore_eos`, `stop_token_ids`)
are keyword options that TGI leaves at their defaults. How many tokens a sequence may take (`limit`) and how many KV
tokens it reserves when admitted are the front-end's scheduling rules (TGI v3's rounds: `tgi/rounds.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from array import array
from collections.abc import Sequence

from orchestrator.emulator.core.vocab import Vocabulary
from orchestrator.tokens import EOS_ID

__all__ = ["Generation", "output_seed", "prompt_seed"]

_U64 = 2**64 - 1


def prompt_seed(input_ids: Sequence[int]) -> int:
    """A 64-bit digest of the whole prompt: prompts that differ anywhere (not only in their tails) differ."""
    digest = hashlib.blake2b(array("q", input_ids).tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def output_seed(input_ids: Sequence[int], seed: int | None) -> int:
    """The seed of a sequence's token draws: the prompt alone for greedy decoding (same prompt, same text, as
    argmax is), the prompt and the request's sampling seed otherwise (TGI draws a seed when none is given)."""
    prompt = prompt_seed(input_ids)
    return prompt if seed is None else (prompt << 64) | (seed & _U64)


class Generation:
    """State of one sequence in the engine; the HTTP side consumes `ids[consumed:]` as they appear."""

    __slots__ = (
        "_rng",
        "_stop_tail",
        "_waiter",
        "admitted_at",
        "arrival",
        "cancelled",
        "eos_rate",
        "error",
        "finish_reason",
        "ids",
        "ignore_eos",
        "input_length",
        "limit",
        "logprobs",
        "min_tokens",
        "queue_seconds",
        "request_id",
        "reserved_tokens",
        "seed",
        "stop",
        "stop_ids",
        "text_len",
        "times",
        "top_n",
        "top_tokens",
        "vocab",
    )  # fmt: skip

    def __init__(
        self,
        *,
        request_id: int,
        input_ids: Sequence[int],
        input_length: int,
        limit: int,
        reserved_tokens: int,
        stop: Sequence[str],
        seed: int | None,
        eos_rate: float,
        top_n: int,
        vocab: Vocabulary,
        arrival: float,
        min_tokens: int = 0,
        ignore_eos: bool = False,
        stop_ids: frozenset[int] = frozenset(),
    ) -> None:
        self.request_id = request_id
        self.input_length = input_length
        self.limit = limit  # tokens generated at most before `length`
        self.reserved_tokens = reserved_tokens  # KV tokens held while in the batch
        self.stop = tuple(s for s in stop if s)
        self.seed = seed
        self._rng = random.Random(output_seed(input_ids, seed))
        self.eos_rate = eos_rate
        self.top_n = top_n
        self.vocab = vocab
        self.arrival = arrival
        self.min_tokens = min_tokens  # no EOS, stop token or stop string ends it before this many tokens
        self.ignore_eos = ignore_eos  # EOS is generated as a token but does not stop (vLLM's `ignore_eos`)
        self.stop_ids = stop_ids  # token ids that end the sequence (vLLM's `stop_token_ids`): `stop_token`
        # compact arrays: a long generation costs 24 bytes per token, not ~100 with lists of Python objects
        self.ids = array("i")
        self.logprobs = array("d")
        self.top_tokens: list[list[tuple[int, float]]] = []
        self.times = array("d")
        self.finish_reason: str | None = None
        self.error: str | None = None
        self.cancelled = False
        self.admitted_at = 0.0
        self.queue_seconds = 0.0
        self.text_len = 0
        self._stop_tail = ""
        self._waiter: asyncio.Future[None] | None = None

    # --- engine side -------------------------------------------------------------------------------------------
    @property
    def kv_tokens(self) -> int:
        return self.input_length + len(self.ids)

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None or self.error is not None

    def step(self, now: float) -> None:
        """Produce the next token (called by the engine once per prefill/decode step)."""
        rng = self._rng
        if self.eos_rate and rng.random() < self.eos_rate:
            token = EOS_ID
        else:
            token = self.vocab.ids[int(rng.random() * len(self.vocab.ids))]
        logprob = -round(rng.random() * 1.5, 4)
        self.ids.append(token)
        self.logprobs.append(logprob)
        self.times.append(now)
        if self.top_n:
            alternatives = [(token, logprob)]
            for rank in range(1, self.top_n):
                other = self.vocab.ids[int(rng.random() * len(self.vocab.ids))]
                alternatives.append((other, round(logprob - rank * (0.5 + rng.random()), 4)))
            self.top_tokens.append(alternatives)
        if len(self.ids) >= self.limit:
            self.finish_reason = "length"
        elif len(self.ids) < self.min_tokens:
            pass
        elif token == EOS_ID and not self.ignore_eos:
            self.finish_reason = "eos_token"
        elif token in self.stop_ids:
            self.finish_reason = "stop_token"
        elif self.stop:
            text = self.vocab.text_of(token)
            self._stop_tail = (self._stop_tail + text)[-256:]
            if any(self._stop_tail.endswith(s) for s in self.stop):
                self.finish_reason = "stop_sequence"
        self.notify()

    def fail(self, message: str) -> None:
        self.error = message
        self.notify()

    def notify(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # --- HTTP side ---------------------------------------------------------------------------------------------
    async def wait(self, consumed: int, timeout: float | None = None) -> bool:
        """Wait until tokens beyond `consumed` exist or the sequence ended; False if `timeout` passed first."""
        if len(self.ids) > consumed or self.finished:
            return True
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()
        return len(self.ids) > consumed or self.finished

    async def wait_finished(self) -> None:
        consumed = 0
        while not self.finished:
            await self.wait(consumed)
            consumed = len(self.ids)

    def text(self, start: int = 0, end: int | None = None) -> str:
        """Generated text (special tokens skipped), as TGI's `generated_text`."""
        text_of = self.vocab.text_of
        return "".join(text_of(t) for t in self.ids[start:end] if t != EOS_ID)

    def ttft(self) -> float | None:
        return self.times[0] - self.arrival if self.times else None

    def mean_itl(self) -> float | None:
        if len(self.times) < 2:
            return None
        return (self.times[-1] - self.times[0]) / (len(self.times) - 1)

    def logprob_sum(self) -> float:
        return sum(self.logprobs)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def now() -> float:
    return time.perf_counter()
