"""Request fields of `/v1/completions` and `/v1/chat/completions` read and checked as vLLM 0.33.0 does.

Two layers [vllm-server.md §5]: the schema (FastAPI/pydantic: types, required fields) answers 400 `Bad Request`
listing the errors; then vLLM's own checks (`SamplingParams`, prompt length, `max_tokens` against
`--max-model-len`, which clamps rather than rejects) answer 400 `BadRequestError`. Unknown fields are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.emulator.vllm.errors import VllmError, bad_request, schema_error

__all__ = ["Sampling", "check_schema", "check_stream_options", "describe", "resolve_sampling"]

# field -> accepted JSON types (pydantic's lax mode: ints are numbers too); None is always accepted
_INT, _NUM, _BOOL, _STR = (int,), (int, float), (bool,), (str,)
COMMON: dict[str, tuple[type, ...]] = {
    "model": _STR, "max_tokens": _INT, "n": _INT, "seed": _INT, "temperature": _NUM, "top_p": _NUM,
    "top_k": _INT, "min_p": _NUM, "frequency_penalty": _NUM, "presence_penalty": _NUM,
    "repetition_penalty": _NUM, "min_tokens": _INT, "ignore_eos": _BOOL, "stream": _BOOL,
    "stop": (str, list), "stop_token_ids": (list,), "stream_options": (dict,), "skip_special_tokens": _BOOL,
    "include_stop_str_in_output": _BOOL, "echo": _BOOL, "user": _STR, "priority": _INT, "request_id": _STR,
    "logit_bias": (dict,),
}  # fmt: skip
COMPLETION = {**COMMON, "prompt": (str, list), "logprobs": _INT, "suffix": _STR}
CHAT = {**COMMON, "messages": (list,), "max_completion_tokens": _INT, "logprobs": _BOOL, "top_logprobs": _INT,
        "add_generation_prompt": _BOOL, "response_format": (dict,), "tools": (list,)}  # fmt: skip
_TYPE_NAMES = {int: ("int_type", "Input should be a valid integer"), float: ("float_type", "Input should be a "
               "valid number"), bool: ("bool_type", "Input should be a valid boolean"), str: ("string_type",
               "Input should be a valid string"), list: ("list_type", "Input should be a valid list"),
               dict: ("dict_type", "Input should be a valid dictionary")}  # fmt: skip
GUIDED = ("guided_json", "guided_regex", "guided_choice", "guided_grammar", "guided_decoding_backend",
          "guided_whitespace_pattern")  # fmt: skip


@dataclass(frozen=True)
class Sampling:
    """A checked request's generation parameters (`max_tokens` already clamped to the context left)."""

    max_tokens: int
    n: int
    greedy: bool
    seed: int | None
    stop: tuple[str, ...]
    stop_token_ids: frozenset[int]
    min_tokens: int
    ignore_eos: bool
    logprobs: int | None
    include_stop_str_in_output: bool


def describe(value: Any) -> str:
    """A value as vLLM abbreviates inputs in validation messages (`<dict of 3 items>`)."""
    if isinstance(value, dict):
        return f"<dict of {len(value)} items>"
    if isinstance(value, list):
        return f"<list of {len(value)} items>"
    return repr(value)


def _fits(value: Any, accepted: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in accepted
    if isinstance(value, float) and int in accepted and float not in accepted:
        return value.is_integer()
    return isinstance(value, accepted)


def check_schema(body: Any, fields: Mapping[str, tuple[type, ...]], required: str) -> dict[str, Any]:
    """The body as a dict, or 400 `Bad Request` listing each missing or mistyped field."""
    if not isinstance(body, dict):
        raise schema_error([f"{{'type': 'model_attributes_type', 'loc': 'body', 'msg': 'Input should be a valid "
                            f"dictionary or object to extract fields from', 'input': {describe(body)}}}"], "body")  # fmt: skip
    errors: list[str] = []
    params: list[str] = []
    if body.get(required) is None:
        errors.append(f"{{'type': 'missing', 'loc': 'body.{required}', 'msg': 'Field required', "
                      f"'input': {describe(body)}}}")  # fmt: skip
        params.append(f"body.{required}")
    for name, accepted in fields.items():
        value = body.get(name)
        if value is None or _fits(value, accepted):
            continue
        kind, msg = _TYPE_NAMES[accepted[0]]
        errors.append(
            f"{{'type': '{kind}', 'loc': 'body.{name}', 'msg': '{msg}', 'input': {describe(value)}}}"
        )
        params.append(f"body.{name}")
    if errors:
        raise schema_error(errors, params[0])
    return body


def check_stream_options(body: Mapping[str, Any]) -> None:
    """`stream_options` only with `stream: true` (vLLM's model validator)."""
    if body.get("stream_options") is not None and not body.get("stream"):
        raise VllmError(400, "BadRequestError", "Stream options can only be defined when `stream=True`.",
                        "stream_options")  # fmt: skip


def _range_checks(body: Mapping[str, Any], n: int, max_logprobs: int, logprobs: int | None) -> None:
    """SamplingParams' checks, in its order, with its texts."""
    temperature = body.get("temperature")
    checks = [
        (n < 1, "n", f"n must be at least 1, got {n}."),
        (body.get("presence_penalty") is not None and not -2 <= body["presence_penalty"] <= 2, "presence_penalty",
         f"presence_penalty must be in [-2, 2], got {body.get('presence_penalty')}."),
        (body.get("frequency_penalty") is not None and not -2 <= body["frequency_penalty"] <= 2,
         "frequency_penalty", f"frequency_penalty must be in [-2, 2], got {body.get('frequency_penalty')}."),
        (body.get("repetition_penalty") is not None and body["repetition_penalty"] <= 0, "repetition_penalty",
         f"repetition_penalty must be greater than zero, got {body.get('repetition_penalty')}."),
        (temperature is not None and not 0 <= temperature <= 2, "temperature",
         f"temperature must be in [0, 2], got {float(temperature or 0)}."),
        (body.get("top_p") is not None and not 0 < body["top_p"] <= 1, "top_p",
         f"top_p must be in (0, 1], got {body.get('top_p')}."),
        (body.get("top_k") is not None and body["top_k"] < -1, "top_k",
         f"top_k must be 0 (disable), or at least 1, got {body.get('top_k')}."),
        (body.get("min_p") is not None and not 0 <= body["min_p"] <= 1, "min_p",
         f"min_p must be in [0, 1], got {body.get('min_p')}."),
        (logprobs is not None and logprobs > max_logprobs, "logprobs",
         f"Requested sample logprobs of {logprobs}, which is greater than max allowed: {max_logprobs}"),
    ]  # fmt: skip
    for failed, param, text in checks:
        if failed:
            raise VllmError(400, "BadRequestError", text, param)


def resolve_sampling(body: Mapping[str, Any], *, prompt_tokens: int, max_model_len: int, max_logprobs: int,
                     default_max: int | None, max_field: str, logprobs: int | None) -> Sampling:  # fmt: skip
    """Prompt length, then `max_tokens` against the model length (clamped to what is left), then SamplingParams."""
    if prompt_tokens > max_model_len:
        raise bad_request(
            f"This model's maximum context length is {max_model_len} tokens. However, your prompt contains "
            f"{prompt_tokens} input tokens, which exceeds this limit even without any output tokens. Please "
            "reduce the length of the input prompt.", "input_tokens", prompt_tokens,
        )  # fmt: skip
    requested = body.get(max_field)
    if requested is None and max_field == "max_completion_tokens":
        requested = body.get("max_tokens")
    if requested is None:
        requested = default_max
    if requested is not None and requested > max_model_len:
        raise bad_request(f"{max_field}={requested} cannot be greater than max_model_len={max_model_len}. Please "
                          "request fewer output tokens.", max_field, requested)  # fmt: skip
    room = max_model_len - prompt_tokens
    max_tokens = room if requested is None else min(int(requested), room)
    n = int(body.get("n") or 1)
    _range_checks(body, n, max_logprobs, logprobs)
    if max_tokens < 1:
        raise VllmError(
            400, "BadRequestError", f"max_tokens must be at least 1, got {max_tokens}.", "max_tokens"
        )
    min_tokens = int(body.get("min_tokens") or 0)
    if min_tokens < 0:
        raise VllmError(400, "BadRequestError", f"min_tokens must be greater than or equal to 0, got {min_tokens}.",
                        "min_tokens")  # fmt: skip
    if min_tokens > max_tokens:
        raise VllmError(400, "BadRequestError", f"min_tokens must be less than or equal to max_tokens={max_tokens}, "
                        f"got {min_tokens}.", "min_tokens")  # fmt: skip
    temperature = body.get("temperature")
    greedy = temperature is not None and temperature < 1e-5
    if greedy and n > 1:
        raise VllmError(400, "BadRequestError", f"n must be 1 when using greedy sampling, got {n}.", "n")
    stop = body.get("stop")
    stops = (stop,) if isinstance(stop, str) else tuple(str(s) for s in stop or ())
    return Sampling(
        max_tokens=max_tokens, n=n, greedy=greedy, seed=body.get("seed"), stop=stops,
        stop_token_ids=frozenset(int(t) for t in body.get("stop_token_ids") or ()), min_tokens=min_tokens,
        ignore_eos=bool(body.get("ignore_eos")), logprobs=logprobs,
        include_stop_str_in_output=bool(body.get("include_stop_str_in_output")),
    )  # fmt: skip
