"""TGI's tokenize answer: `[{id, text, start, stop}]`, used by `/tokenize` and `/chat_tokenize`."""

from __future__ import annotations

from typing import Any

from orchestrator.emulator.tgi.service import Service

__all__ = ["tokenize_text"]


def tokenize_text(service: Service, text: str, *, add_special_tokens: bool) -> list[dict[str, Any]]:
    """`[{id, text, start, stop}]` with character offsets into `text`, like TGI's `/tokenize`."""
    tokenizer = service.tokenizer
    ids = tokenizer.encode(text, add_bos=add_special_tokens)
    out: list[dict[str, Any]] = []
    position = 0
    for token_id in ids:
        if token_id in (1, 2) and tokenizer.piece(token_id) in ("<s>", "</s>"):
            marker = tokenizer.piece(token_id)
            start = text.find(marker, position)
            if start < 0:
                out.append({"id": token_id, "text": marker, "start": 0, "stop": 0})
                continue
            out.append({"id": token_id, "text": marker, "start": start, "stop": start + len(marker)})
            position = start + len(marker)
            continue
        piece_text = tokenizer.token_text(token_id)
        if position == 0 and piece_text.startswith(" ") and not text.startswith(" "):
            piece_text = piece_text[1:]
        start = position
        stop = min(len(text), start + len(piece_text))
        out.append({"id": token_id, "text": text[start:stop], "start": start, "stop": stop})
        position = stop
    return out
