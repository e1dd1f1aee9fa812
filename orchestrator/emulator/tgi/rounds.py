"""TGI v3's generation rounds: at most 1024 new tokens per scheduling round, re-queued transparently.

An explicit `max_new_tokens` above 1024 ends with `length` once another round would not fit the
`max_total_tokens` budget (`round_limit`); the queue reserves KV tokens for the prompt and the current round only.
"""

from __future__ import annotations

__all__ = ["ROUND_TOKENS", "reserved_tokens", "round_limit"]

ROUND_TOKENS = 1024  # TGI v3 DEFAULT_GENERATION_LENGTH


def round_limit(input_length: int, max_new_tokens: int, max_total_tokens: int) -> int:
    """How many tokens TGI v3 actually generates before `length`, given its 1024-token rounds."""
    generated, remaining = 0, max_new_tokens
    while remaining > 0:
        chunk = min(remaining, ROUND_TOKENS)
        if generated and input_length + generated + chunk > max_total_tokens:
            break
        generated += chunk
        remaining -= chunk
    return generated


def reserved_tokens(input_length: int, limit: int) -> int:
    """KV tokens reserved at admission: prompt + the current round (<= 1024 new tokens), as TGI v3's queue."""
    return input_length + min(limit, ROUND_TOKENS)
