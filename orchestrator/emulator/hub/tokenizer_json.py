"""`tokenizer.json` (the `tokenizers` library's format) built from the real Mistral SentencePiece model.

Laid out as the `tokenizers` Llama/Mistral conversion writes it: a byte-fallback BPE whose vocabulary is the
SentencePiece pieces (ids unchanged) and whose merges are every split of a piece into two pieces, ranked by the
merged piece's id. Token ids therefore agree with `tokenizer.model`; the bytes are not the Hub file's own.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

__all__ = ["tokenizer_json"]

_SPECIAL = ("<unk>", "<s>", "</s>")


def _merges(vocab: dict[str, int]) -> list[str]:
    ranked: list[tuple[int, int, int, str]] = []
    for piece, merged_id in vocab.items():
        if piece in _SPECIAL or len(piece) < 2:
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in vocab and right in vocab:
                ranked.append((merged_id, vocab[left], vocab[right], f"{left} {right}"))
    ranked.sort()
    return [text for *_, text in ranked]


@cache
def tokenizer_json(model_file: Path) -> bytes:
    """The tokenizer.json text for the SentencePiece model at `model_file`."""
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    added = [
        {
            "id": vocab[t],
            "content": t,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for t in _SPECIAL
    ]
    document = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Prepend", "prepend": "▁"},
                {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
            ],
        },
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "<s>", "type_id": 1}},
                {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
        },
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0},
            ],
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": "<unk>",
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": _merges(vocab),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode()
