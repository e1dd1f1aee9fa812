"""The served model's architecture and checkpoint size, from `shared/reference/model-facts.md`.

Only models whose facts are written down here get capacity figures; any other model id gets None and the
planner says so instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MISTRAL_7B_AWQ", "ModelFacts", "model_facts_for"]


@dataclass(frozen=True)
class ModelFacts:
    """Architecture values of `config.json` and the checkpoint's size on disk."""

    model_id: str
    layers: int
    hidden: int
    intermediate: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    max_position_embeddings: int
    weights_bytes: int
    """The checkpoint on disk (AWQ 4-bit: 4.15 GB per the model card); about what the GPU holds for weights."""
    activation_bytes: int = 2
    """float16 activations (AWQ runs float16, tgi-server.md §8)."""

    def kv_bytes_per_token(self, element_bytes: int = 2) -> int:
        """K and V, every layer, every KV head: 2 x 32 x 8 x 128 x 2 bytes = 128 KiB for this model in fp16."""
        return 2 * self.layers * self.kv_heads * self.head_dim * element_bytes

    def prefill_activation_bytes_per_token(self) -> int:
        """Live activations per prompt token at a prefill's peak (one layer at a time, logits only for the last
        token): the MLP's gate+up output and its product, the QKV projection, three hidden-size buffers.
        An estimate from the architecture (docs/doctor.md), not a measurement."""
        qkv = self.hidden + 2 * self.kv_heads * self.head_dim
        return self.activation_bytes * (3 * self.intermediate + qkv + 3 * self.hidden)


MISTRAL_7B_AWQ = ModelFacts(
    model_id="TheBloke/Mistral-7B-Instruct-v0.2-AWQ",
    layers=32,
    hidden=4096,
    intermediate=14336,
    attention_heads=32,
    kv_heads=8,
    head_dim=128,
    max_position_embeddings=32768,
    weights_bytes=4_150_000_000,
)

_KNOWN = {MISTRAL_7B_AWQ.model_id.lower(): MISTRAL_7B_AWQ}


def model_facts_for(model_id: str) -> ModelFacts | None:
    """The facts of `model_id` (case-insensitive), None for a model this table does not know."""
    return _KNOWN.get(model_id.strip().lower())
