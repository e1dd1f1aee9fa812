"""Chat tool calls: which function is called and the JSON arguments the emulated model "generates".

TGI constrains generation with a grammar built from the tools; the emulator instead builds a deterministic
argument object from the function's JSON-schema `parameters` (strings from real vocabulary words, numbers, booleans)
and streams it token by token, so clients see the same shapes: `message.tool_calls[]` with
`function.arguments` as a JSON object (TGI 3.x; `description` null), and `delta.tool_calls[]` chunks carrying the name
first, then argument text pieces. Arguments cut short by `max_tokens` do not parse: 422 `tool_error`, as in TGI.
`tool_choice`: "none" -> plain text; a named function -> that one (unknown -> 422 `tool_error`); "auto" /
"required" / absent -> the first tool.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

from orchestrator.emulator.core.vocab import Vocabulary
from orchestrator.emulator.tgi.errors import ApiError
from orchestrator.tokens import MistralTokenizer

__all__ = ["ToolCallPlan", "plan_tool_call", "select_function"]


def select_function(req: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The function definition the emulated model calls, or None for a plain-text answer."""
    tools = req.get("tools")
    if not isinstance(tools, list) or not tools:
        return None
    choice = req.get("tool_choice", "auto")
    if choice == "none":
        return None
    functions: list[Mapping[str, Any]] = [
        t["function"] for t in tools if isinstance(t, Mapping) and isinstance(t.get("function"), Mapping)
    ]
    if isinstance(choice, Mapping):
        wanted = choice.get("function")
        name = wanted.get("name") if isinstance(wanted, Mapping) else None
        for function in functions:
            if function.get("name") == name:
                return function
        raise ApiError(422, "tool_error", f"Tool error: Tool with name {name} not found", "validation")
    return functions[0] if functions else None


class ToolCallPlan:
    """The argument text of one call, cut into the token pieces a stream sends."""

    def __init__(self, function: Mapping[str, Any], pieces: list[str]) -> None:
        self.name = str(function.get("name", ""))
        self.description = function.get("description")
        self.pieces = pieces

    def arguments(self, tokens: int) -> str:
        return "".join(self.pieces[:tokens])


def _value(schema: Any, rng: random.Random, vocab: Vocabulary) -> Any:
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    if isinstance(schema, Mapping) and isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][int(rng.random() * len(schema["enum"]))]
    if kind == "integer":
        return int(rng.random() * 100)
    if kind == "number":
        return round(rng.random() * 100, 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "array":
        return [_value(schema.get("items", {"type": "string"}), rng, vocab)]
    if kind == "object":
        return {k: _value(v, rng, vocab) for k, v in (schema.get("properties") or {}).items()}
    words = [vocab.text_of(vocab.ids[int(rng.random() * len(vocab.ids))]).strip() for _ in range(2)]
    return " ".join(w for w in words if w) or "value"


def plan_tool_call(
    function: Mapping[str, Any], seed: int, tokenizer: MistralTokenizer, vocab: Vocabulary
) -> ToolCallPlan:
    parameters = function.get("arguments")  # FunctionDefinition.arguments (alias `parameters`)
    properties = parameters.get("properties") if isinstance(parameters, Mapping) else None
    rng = random.Random(seed)
    arguments = {k: _value(v, rng, vocab) for k, v in (properties or {}).items()}
    text = json.dumps(arguments, separators=(",", ":"))
    pieces = [tokenizer.token_text(t) for t in tokenizer.encode(text, add_bos=False)]
    if pieces and pieces[0].startswith(" ") and not text.startswith(" "):
        pieces[0] = pieces[0][1:]
    return ToolCallPlan(function, pieces)
