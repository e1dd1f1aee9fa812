"""The emulator's output vocabulary: real Mistral 7B v0.2 tokens, pre-rendered for fast JSON/SSE output.

Generated text is drawn from word-like pieces of the real 32,000-token vocabulary (`▁word` pieces plus a little
punctuation), so every generated token id, its text and the decoded text are what this model could produce, and
token counts of the output re-tokenize sensibly. Each token's JSON-escaped text is computed once: the streaming hot
path only glues pre-escaped strings together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from orchestrator.tokens import EOS_ID, get_tokenizer

__all__ = ["EOS_JSON_TEXT", "Vocabulary", "get_vocabulary"]

EOS_JSON_TEXT = json.dumps("</s>")
_PUNCTUATION = {",", ".", "!", "?", ";", ":"}


@dataclass(frozen=True)
class Vocabulary:
    """Token ids usable for generated text with their stream text and its JSON-escaped form."""

    ids: tuple[int, ...]
    text: dict[int, str]
    json_text: dict[int, str]

    def text_of(self, token_id: int) -> str:
        if token_id == EOS_ID:
            return "</s>"
        cached = self.text.get(token_id)
        if cached is not None:
            return cached
        return get_tokenizer().token_text(token_id)

    def json_of(self, token_id: int) -> str:
        cached = self.json_text.get(token_id)
        return cached if cached is not None else json.dumps(self.text_of(token_id))


@lru_cache(maxsize=1)
def get_vocabulary() -> Vocabulary:
    """Word-like pieces of the real vocabulary (loaded once, ~50 ms)."""
    tokenizer = get_tokenizer()
    ids: list[int] = []
    text: dict[int, str] = {}
    for token_id, piece in enumerate(tokenizer.pieces()):
        word = piece[1:] if piece.startswith("\u2581") else None
        usable = (word is not None and 2 <= len(word) <= 9 and word.isascii() and word.isalpha()) or (
            piece in _PUNCTUATION
        )
        if usable:
            ids.append(token_id)
            text[token_id] = tokenizer.token_text(token_id)
    json_text = {token_id: json.dumps(value) for token_id, value in text.items()}
    json_text[EOS_ID] = EOS_JSON_TEXT
    text[EOS_ID] = "</s>"
    return Vocabulary(ids=tuple(ids), text=text, json_text=json_text)
