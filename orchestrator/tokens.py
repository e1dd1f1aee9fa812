"""Mistral 7B Instruct v0.2 tokenizer and `[INST]` chat template, offline.

The SentencePiece model ships inside the `mistral-common` wheel (`data/tokenizer.model.v1`, vocabulary 32,000), so
token counts match what TGI reports for this model without reaching the Hub. We load it with `sentencepiece`
directly: importing `mistral_common` itself costs ~0.4 s, and the CLI must stay fast.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "BOS_ID",
    "EOS_ID",
    "ChatTemplateError",
    "MistralTokenizer",
    "format_chat",
    "format_prompt",
    "get_tokenizer",
    "model_file",
]

BOS_ID = 1
EOS_ID = 2
BOS_TEXT = "<s>"
EOS_TEXT = "</s>"
_MODEL_FILE = "tokenizer.model.v1"


class ChatTemplateError(ValueError):
    """The messages do not fit Mistral's template (TGI answers 422 `template_error`)."""


def _model_path() -> Path:
    spec = importlib.util.find_spec("mistral_common")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("mistral-common is not installed: pip install 'mistral-common[sentencepiece]'")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / _MODEL_FILE
        if candidate.is_file():
            return candidate
    raise RuntimeError(f"mistral-common ships no {_MODEL_FILE}; reinstall mistral-common[sentencepiece]")


def model_file() -> Path:
    """The SentencePiece model file: the Hub repository's `tokenizer.model` for this model (493,443 bytes)."""
    return _model_path()


class MistralTokenizer:
    """Thin, thread-safe view of the SentencePiece model with TGI's conventions (BOS added to prompts)."""

    def __init__(self, model_path: Path | None = None) -> None:
        import sentencepiece

        self._sp: Any = sentencepiece.SentencePieceProcessor(model_file=str(model_path or _model_path()))
        self._lock = threading.Lock()
        self.vocab_size: int = int(self._sp.get_piece_size())
        self._pieces: list[str] | None = None

    def encode(self, text: str, *, add_bos: bool = True) -> list[int]:
        """Token ids of `text`; literal `<s>` / `</s>` become BOS / EOS as in Hugging Face's tokenizer."""
        ids: list[int] = [BOS_ID] if add_bos else []
        if BOS_TEXT not in text and EOS_TEXT not in text:
            ids.extend(self._sp.encode(text))
            return ids
        for part in _split_special(text):
            if part == BOS_TEXT:
                ids.append(BOS_ID)
            elif part == EOS_TEXT:
                ids.append(EOS_ID)
            elif part:
                ids.extend(self._sp.encode(part))
        return ids

    def count(self, text: str, *, add_bos: bool = True) -> int:
        """How many tokens TGI counts for `text` as `inputs` (BOS included by default)."""
        return len(self.encode(text, add_bos=add_bos))

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._sp.decode(list(ids)))

    def piece(self, token_id: int) -> str:
        """The raw SentencePiece piece (`▁Hello`, `<0x0A>`), as TGI shows in `tokens[].text` before cleanup."""
        return str(self._sp.id_to_piece(token_id))

    def token_text(self, token_id: int) -> str:
        """Text a single token contributes when streamed (leading `▁` becomes a space, byte pieces decoded)."""
        piece = self.piece(token_id)
        if piece.startswith("<0x") and piece.endswith(">") and len(piece) == 6:
            byte = int(piece[3:5], 16)
            return chr(byte) if byte < 0x80 else ""
        return piece.replace("\u2581", " ")

    def pieces(self) -> list[str]:
        """Every piece of the vocabulary, index = token id (cached)."""
        with self._lock:
            if self._pieces is None:
                self._pieces = [self.piece(i) for i in range(self.vocab_size)]
            return self._pieces

    def is_special(self, token_id: int) -> bool:
        return bool(self._sp.is_control(token_id) or self._sp.is_unknown(token_id))


def _split_special(text: str) -> list[str]:
    parts: list[str] = []
    rest = text
    while rest:
        cut = min((i for i in (rest.find(BOS_TEXT), rest.find(EOS_TEXT)) if i >= 0), default=-1)
        if cut < 0:
            parts.append(rest)
            break
        parts.append(rest[:cut])
        marker = BOS_TEXT if rest.startswith(BOS_TEXT, cut) else EOS_TEXT
        parts.append(marker)
        rest = rest[cut + len(marker) :]
    return parts


@lru_cache(maxsize=1)
def get_tokenizer() -> MistralTokenizer:
    """The process-wide tokenizer (loading takes ~30 ms; do it once)."""
    return MistralTokenizer()


def format_prompt(prompt: str) -> str:
    """One user turn in Mistral's template, without BOS (TGI adds it when tokenizing `inputs`)."""
    return f"[INST] {prompt} [/INST]"


def format_chat(messages: Sequence[Mapping[str, Any]]) -> str:
    """Render chat messages exactly as the model's `chat_template` does, BOS included.

    `<s>[INST] u1 [/INST]a1</s>[INST] u2 [/INST]`. A leading system message is folded into the first user turn
    (what TGI's template for this model does, separated by a blank line); roles must then alternate
    user/assistant, starting with user, as the template demands.
    """
    items = [dict(m) for m in messages]
    system = ""
    if items and items[0].get("role") == "system":
        system = _content_text(items.pop(0).get("content"))
    if not items:
        raise ChatTemplateError("Conversation must contain at least one user message")
    out = [BOS_TEXT]
    for index, message in enumerate(items):
        role = message.get("role")
        expected = "user" if index % 2 == 0 else "assistant"
        if role not in ("user", "assistant"):
            raise ChatTemplateError("Only user and assistant roles are supported!")
        if role != expected:
            raise ChatTemplateError("Conversation roles must alternate user/assistant/user/assistant/...")
        content = _content_text(message.get("content"))
        if role == "user":
            if index == 0 and system:
                content = f"{system}\n\n{content}"
            out.append(f"[INST] {content} [/INST]")
        else:
            out.append(f"{content}{EOS_TEXT}")
    return "".join(out)


def _content_text(content: Any) -> str:
    """OpenAI content may be a string or a list of `{type: text, text}` parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return str(content)
