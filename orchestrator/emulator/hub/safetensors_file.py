"""Small, valid safetensors files: the format's 8-byte header length, JSON header, then the raw tensor bytes.

Written by hand (no torch, no safetensors package) so the stand-in stays light; the layout is the format's own:
little-endian u64 header size, a JSON object of `name -> {dtype, shape, data_offsets}` plus `__metadata__`,
padded with spaces to a multiple of 8, then the data. The tensors carry AWQ's names and dtypes (I32 packed
weights and zeros, F16 scales) at toy shapes.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Sequence

__all__ = ["awq_layer_tensors", "safetensors_bytes"]

_ITEM_SIZE = {"I32": 4, "F16": 2, "F32": 4, "I64": 8, "U8": 1, "BF16": 2}


def safetensors_bytes(tensors: Sequence[tuple[str, str, tuple[int, ...]]], *, seed: int = 0) -> bytes:
    """A safetensors file of `(name, dtype, shape)` tensors filled with seeded random bytes."""
    rng = random.Random(seed)
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    data = bytearray()
    for name, dtype, shape in tensors:
        count = 1
        for dim in shape:
            count *= dim
        length = count * _ITEM_SIZE[dtype]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + length]}
        data += rng.randbytes(length)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(data)


def awq_layer_tensors(
    layers: int = 1, hidden: int = 128, group: int = 128
) -> list[tuple[str, str, tuple[int, ...]]]:
    """AWQ GEMM tensors of `layers` toy decoder layers: qweight/qzeros pack 8 four-bit values per int32."""
    tensors: list[tuple[str, str, tuple[int, ...]]] = [("model.embed_tokens.weight", "F16", (16, hidden))]
    for layer in range(layers):
        for proj in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj"):
            prefix = f"model.layers.{layer}.{proj}"
            tensors += [
                (f"{prefix}.qweight", "I32", (hidden, hidden // 8)),
                (f"{prefix}.qzeros", "I32", (hidden // group, hidden // 8)),
                (f"{prefix}.scales", "F16", (hidden // group, hidden)),
            ]
        tensors.append((f"model.layers.{layer}.input_layernorm.weight", "F16", (hidden,)))
    tensors += [("model.norm.weight", "F16", (hidden,)), ("lm_head.weight", "F16", (16, hidden))]
    return tensors
