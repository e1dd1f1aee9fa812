"""Named sampling presets: the parameters a client sends unless a call overrides them.

TGI's own defaults are greedy decoding and `max_new_tokens` = max_total - input (v3), which is rarely what users of
an instruct model want. Rather than hiding other values inside the client, the model card's recommendation is a
named, printable preset: `TGIClient(url)` uses `MISTRAL_MODEL_CARD` (shown in the client's repr),
`TGIClient(url, preset=None)` sends no sampling parameters at all, and per-call keyword arguments win over both.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = ["GREEDY", "MISTRAL_MODEL_CARD", "SamplingPreset"]


@dataclass(frozen=True, slots=True)
class SamplingPreset:
    """Sampling parameters for TGI's `parameters` object; `None` fields are not sent (the server decides)."""

    name: str
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    max_new_tokens: int | None = None
    do_sample: bool | None = None

    def parameters(self) -> dict[str, Any]:
        """The preset as TGI `parameters` fields, leaving out unset ones."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "name":
                continue
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value
        return out

    def chat_parameters(self) -> dict[str, Any]:
        """The preset in OpenAI chat spelling (`max_tokens`; `top_k` and `repetition_penalty` are TGI extras)."""
        params = self.parameters()
        params.pop("do_sample", None)
        if "max_new_tokens" in params:
            params["max_tokens"] = params.pop("max_new_tokens")
        return params

    def with_(self, **changes: Any) -> SamplingPreset:
        """A copy with some fields changed, e.g. `MISTRAL_MODEL_CARD.with_(max_new_tokens=64)`."""
        return replace(self, **changes)


MISTRAL_MODEL_CARD = SamplingPreset(
    name="mistral-7b-instruct-v0.2-model-card",
    temperature=0.7,
    top_p=0.95,
    top_k=40,
    repetition_penalty=1.1,
    max_new_tokens=512,
    do_sample=True,
)
"""The sampling example of the Mistral 7B Instruct v0.2 AWQ model card."""

GREEDY = SamplingPreset(name="greedy", do_sample=False)
"""Deterministic decoding; `max_new_tokens` left to the server."""
