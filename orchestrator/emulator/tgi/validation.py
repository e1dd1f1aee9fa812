"""Request validation with TGI 3.3.x's rules, order and message texts. Pure: typed parameters in, `ValidRequest` out.

Two layers, as in TGI: the web framework's JSON deserialization (types, required fields; `schema.py`) answers 422 in
plain text before this runs; the router's `Validation` (here) answers 422 JSON `validation` with
"Input validation error: ..." messages, checked in the order of router/src/validation.rs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.emulator.tgi.errors import validation_error
from orchestrator.emulator.tgi.rounds import ROUND_TOKENS
from orchestrator.tokens import MistralTokenizer

__all__ = ["Limits", "ValidRequest", "check_best_of", "validate"]


@dataclass(frozen=True)
class Limits:
    """The router limits validation needs."""

    max_best_of: int
    max_stop_sequences: int
    max_top_n_tokens: int
    max_input_tokens: int
    max_total_tokens: int
    disable_grammar_support: bool


@dataclass(frozen=True)
class ValidRequest:
    """A validated generation request."""

    inputs: str
    input_ids: list[int]
    input_length: int
    max_new_tokens: int
    stop: tuple[str, ...]
    seed: int
    sampling: bool
    top_n_tokens: int
    details: bool
    decoder_input_details: bool
    return_full_text: bool
    best_of: int


def _check_grammar(grammar: Mapping[str, Any], limits: Limits) -> None:
    """A typed GrammarType (`{"type": "json" | "regex" | "json_schema", "value": ...}`, `json_object` read as
    `json`): JSON schemas must be objects (or strings holding one) with `properties`."""
    if limits.disable_grammar_support:
        raise validation_error("grammar is not supported")
    kind, value = grammar["type"], grammar["value"]
    if kind == "regex":
        return
    schema = value["schema"] if kind == "json_schema" else value
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            raise validation_error(f"grammar is not valid: {exc}") from None
    if not isinstance(schema, Mapping):
        raise validation_error("grammar is not valid: Grammar must be a string or an object/dictionary")
    if "properties" not in schema:
        raise validation_error("grammar is not valid: Grammar must have a 'properties' field")


def validate(
    inputs: str,
    params: Mapping[str, Any],
    limits: Limits,
    tokenizer: MistralTokenizer,
    *,
    best_of: int = 1,
    add_special_tokens: bool = True,
) -> ValidRequest:
    """TGI's `Validation::validate`, same order and texts (best_of itself is checked earlier by the caller)."""
    temperature = params.get("temperature")
    top_k, top_p, typical_p = params.get("top_k"), params.get("top_p"), params.get("typical_p")
    sampling = bool(params.get("do_sample")) or any(
        v is not None for v in (temperature, top_k, top_p, typical_p)
    )
    if best_of > 1 and not sampling:
        raise validation_error("you must use sampling when `best_of` is > 1")
    if temperature is not None and temperature <= 0.0:
        raise validation_error("`temperature` must be strictly positive")
    repetition_penalty = params.get("repetition_penalty")
    if repetition_penalty is not None and repetition_penalty <= 0.0:
        raise validation_error("`repetition_penalty` must be strictly positive")
    frequency_penalty = params.get("frequency_penalty")
    if frequency_penalty is not None and not -2.0 <= frequency_penalty <= 2.0:
        raise validation_error("`frequency_penalty` must be >= -2.0 and <= 2.0")
    if top_p is not None and not 0.0 < top_p < 1.0:
        raise validation_error("`top_p` must be > 0.0 and < 1.0")
    if typical_p is not None and not 0.0 < typical_p < 1.0:
        raise validation_error("`typical_p` must be > 0.0 and < 1.0")
    if top_k is not None and top_k <= 0:
        raise validation_error("`top_k` must be strictly positive")
    max_new_tokens = params.get("max_new_tokens")
    if max_new_tokens == 0:
        raise validation_error("`max_new_tokens` must be strictly positive")
    stop = params.get("stop") or []
    if len(stop) > limits.max_stop_sequences:
        raise validation_error(
            f"`stop` supports up to {limits.max_stop_sequences} stop sequences. Given: {len(stop)}"
        )
    seed = params.get("seed")
    if seed is not None and best_of > 1:
        raise validation_error("`seed` must not be set when `best_of` > 1")
    if seed is None:
        seed = random.getrandbits(64)
    top_n = params.get("top_n_tokens") or 0
    if top_n > limits.max_top_n_tokens:
        raise validation_error(
            f"`top_n_tokens` must be >= 0 and <= {limits.max_top_n_tokens}. Given: {top_n}"
        )
    if not inputs:
        raise validation_error("`inputs` cannot be empty")
    truncate = params.get("truncate")
    if truncate is not None and (truncate == 0 or truncate > limits.max_input_tokens):
        raise validation_error(
            f"`truncate` must be strictly positive and less than {limits.max_input_tokens}. Given: {truncate}"
        )
    input_ids = tokenizer.encode(inputs, add_bos=add_special_tokens)
    if truncate is not None:
        input_ids = input_ids[-truncate:]
    input_length = len(input_ids)
    if max_new_tokens is None:
        max_new_tokens = max(limits.max_total_tokens - input_length, 0)
    chunk = min(max_new_tokens, ROUND_TOKENS)
    if input_length + chunk > limits.max_total_tokens:
        raise validation_error(
            f"`inputs` tokens + `max_new_tokens` must be <= {limits.max_total_tokens}. "
            f"Given: {input_length} `inputs` tokens and {chunk} `max_new_tokens`"
        )
    if input_length > limits.max_input_tokens:
        raise validation_error(
            f"`inputs` must have less than {limits.max_input_tokens} tokens. Given: {input_length}"
        )
    if params.get("grammar") is not None:
        _check_grammar(params["grammar"], limits)
    return ValidRequest(
        inputs=inputs,
        input_ids=input_ids,
        input_length=input_length,
        max_new_tokens=max(max_new_tokens, 1),
        stop=tuple(stop),
        seed=seed,
        sampling=sampling,
        top_n_tokens=top_n,
        details=bool(params.get("details")),
        decoder_input_details=bool(params.get("decoder_input_details")),
        return_full_text=bool(params.get("return_full_text")),
        best_of=best_of,
    )


def check_best_of(best_of: int, max_best_of: int) -> None:
    """`Validation::validate_best_of` (run before permits are taken)."""
    if max_best_of == 1 and best_of != 1:
        raise validation_error("`best_of` != 1 is not allowed for this endpoint")
    if best_of > max_best_of:
        raise validation_error(f"`best_of` must be > 0 and <= {max_best_of}. Given: {best_of}")
