"""TGI 3.3.7's request bodies as serde types, read the way axum's `Json<T>` reads them (serde + serde_json).

Every POST route's body is described here once (field -> serde type, `#[serde(default)]`, aliases, `flatten`,
untagged / tagged enums, `try_from`), from router/src/lib.rs and sagemaker.rs, and `parse` turns a body into typed
Python values or into axum's rejection: 400 `Failed to parse the request body as JSON: ...` for syntax, 422 `Failed to
deserialize the JSON body into the target type: ...` for data errors, each with serde_path_to_error's path and
serde_json's position. Like serde, reading stops at the first error in document order; values inside untagged enums
are buffered first and tried against each variant ("data did not match any variant ..."). axum 0.7.9 (TGI 3.3.7)
does not check for trailing characters after the value, so neither does `parse`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.emulator.tgi.errors import PlainError
from orchestrator.emulator.tgi.jsonreader import ContentMap, DeError, Reader, unexpected

__all__ = ["CHAT", "COMPAT", "COMPLETION", "GENERATE", "SAGEMAKER", "parse"]

Path = tuple[str | int, ...]
_MISSING: Any = object()


class NoMatch(Exception):
    """A buffered value does not fit a type (errors inside untagged enums are not reported, only the mismatch)."""


class Type:
    """A serde type: `read` drives the reader (errors as serde reports them), `accept` checks buffered content."""

    expecting = "a value"

    def read(self, r: Reader, path: Path) -> Any:
        try:
            return self._read(r, path)
        except DeError as err:
            if err.path is None:
                err.path = path  # serde_path_to_error keeps the deepest path an error passed through
            raise

    def _read(self, r: Reader, path: Path) -> Any:
        raise NotImplementedError

    def accept(self, content: Any) -> Any:
        raise NotImplementedError

    def missing(self, name: str) -> Any:
        raise DeError(f"missing field `{name}`")


class Bool(Type):
    expecting = "a boolean"

    def _read(self, r: Reader, path: Path) -> Any:
        byte = r.peek_value()
        if byte == ord("t"):
            r.eat()
            r.ident(b"rue")
            return True
        if byte == ord("f"):
            r.eat()
            r.ident(b"alse")
            return False
        raise r.invalid_type(self.expecting)

    def accept(self, content: Any) -> Any:
        if isinstance(content, bool):
            return content
        raise NoMatch


class Int(Type):
    def __init__(self, name: str, low: int, high: int) -> None:
        self.expecting, self.low, self.high = name, low, high

    def _read(self, r: Reader, path: Path) -> Any:
        byte = r.peek_value()
        if byte == ord("-"):
            r.eat()
            value = r.number(False)
        elif ord("0") <= byte <= ord("9"):
            value = r.number(True)
        else:
            raise r.invalid_type(self.expecting)
        if isinstance(value, float):
            raise r.fix(DeError(f"invalid type: floating point `{_float(value)}`, expected {self.expecting}"))
        if not self.low <= value <= self.high:
            raise r.fix(DeError(f"invalid value: integer `{value}`, expected {self.expecting}"))
        return value

    def accept(self, content: Any) -> Any:
        if isinstance(content, int) and not isinstance(content, bool) and self.low <= content <= self.high:
            return content
        raise NoMatch


def _float(value: float) -> str:
    return unexpected(value).removeprefix("floating point `").removesuffix("`")


class F32(Type):
    expecting = "f32"

    def _read(self, r: Reader, path: Path) -> Any:
        byte = r.peek_value()
        if byte == ord("-"):
            r.eat()
            return float(r.number(False))
        if ord("0") <= byte <= ord("9"):
            return float(r.number(True))
        raise r.invalid_type(self.expecting)

    def accept(self, content: Any) -> Any:
        if isinstance(content, int | float) and not isinstance(content, bool):
            return float(content)
        raise NoMatch


class Str(Type):
    expecting = "a string"

    def _read(self, r: Reader, path: Path) -> Any:
        if r.peek_value() == ord('"'):
            r.eat()
            return r.string()
        raise r.invalid_type(self.expecting)

    def accept(self, content: Any) -> Any:
        if isinstance(content, str):
            return content
        raise NoMatch


class Value(Type):
    """`serde_json::Value`: any JSON (objects keep the last duplicate key)."""

    def _read(self, r: Reader, path: Path) -> Any:
        return plain(r.content(path))

    def accept(self, content: Any) -> Any:
        return plain(content)


def plain(content: Any) -> Any:
    """Buffered content as ordinary JSON values."""
    if isinstance(content, ContentMap):
        return {k: plain(v) for k, v in content}
    if isinstance(content, list):
        return [plain(v) for v in content]
    return content


class Opt(Type):
    def __init__(self, inner: Type) -> None:
        self.inner = inner
        self.expecting = inner.expecting

    def _read(self, r: Reader, path: Path) -> Any:
        if r.ws() == ord("n"):
            r.eat()
            r.ident(b"ull")
            return None
        return self.inner.read(r, path)

    def accept(self, content: Any) -> Any:
        return None if content is None else self.inner.accept(content)

    def missing(self, name: str) -> Any:
        return None


class Seq(Type):
    expecting = "a sequence"

    def __init__(self, inner: Type) -> None:
        self.inner = inner

    def _read(self, r: Reader, path: Path) -> Any:
        if r.peek_value() != ord("["):
            raise r.invalid_type(self.expecting)
        r.enter()
        r.eat()
        items: list[Any] = []
        try:
            while r.has_element(not items):
                items.append(self.inner.read(r, (*path, len(items))))
        except DeError as err:
            r.leave()
            raise _closing(r, err, r.end_seq) from None
        r.leave()
        r.end_seq()
        return items

    def accept(self, content: Any) -> Any:
        if isinstance(content, list):
            return [self.inner.accept(c) for c in content]
        raise NoMatch


def _closing(r: Reader, err: DeError, end: Callable[[], None]) -> DeError:
    """serde_json runs `end_seq`/`end_map` even after the visitor failed (it may consume the bracket), then
    `fix_position` places a data error that has no position yet."""
    with contextlib.suppress(DeError):
        end()
    return r.fix(err)


@dataclass(frozen=True)
class Field:
    name: str
    type: Type
    default: Any = _MISSING  # a callable giving `#[serde(default)]`'s value
    aliases: tuple[str, ...] = ()


class Struct(Type):
    """A derived struct: unknown keys ignored, duplicates refused, missing non-Option fields refused. With
    `flatten`, the other keys are buffered and given to that type (serde reads such a struct as a map only)."""

    def __init__(self, name: str, fields: Sequence[Field], flatten: Type | None = None) -> None:
        self.name = name
        self.fields = list(fields)
        self.flatten = flatten
        self.expecting = f"struct {name}"
        self.lookup = {key: f for f in self.fields for key in (f.name, *f.aliases)}

    def _read(self, r: Reader, path: Path) -> Any:
        byte = r.peek_value()
        if byte == ord("{"):
            r.enter()
            r.eat()
            try:
                value = self._visit_map(r, path)
            except DeError as err:
                r.leave()
                raise _closing(r, err, r.end_map) from None
            r.leave()
            r.end_map()
            return value
        if byte == ord("[") and self.flatten is None:
            r.enter()
            r.eat()
            try:
                value = self._visit_seq(r, path)
            except DeError as err:
                r.leave()
                raise _closing(r, err, r.end_seq) from None
            r.leave()
            r.end_seq()
            return value
        raise r.invalid_type(self.expecting)

    def _visit_map(self, r: Reader, path: Path) -> Any:
        values: dict[str, Any] = {}
        collected = ContentMap()
        first = True
        while r.has_key(first):
            first = False
            key = r.key()
            field = self.lookup.get(key)
            if field is None:
                r.colon()
                if self.flatten is not None:
                    collected.append((key, r.content((*path, key))))
                else:
                    try:
                        r.skip()
                    except DeError as err:
                        if err.path is None:
                            err.path = (*path, key)
                        raise
                continue
            if field.name in values:
                raise DeError(f"duplicate field `{field.name}`")
            r.colon()
            values[field.name] = field.type.read(r, (*path, key))
        return self._finish(values, collected, DeError)

    def _visit_seq(self, r: Reader, path: Path) -> Any:
        values: dict[str, Any] = {}
        for index, field in enumerate(self.fields):
            if r.has_element(index == 0):
                values[field.name] = field.type.read(r, (*path, index))
            elif field.default is _MISSING:
                raise DeError(
                    f"invalid length {index}, expected struct {self.name} with {len(self.fields)} elements"
                )
        return self._finish(values, ContentMap(), DeError)

    def _finish(
        self, values: dict[str, Any], collected: ContentMap, error: type[Exception]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in self.fields:
            if field.name in values:
                out[field.name] = values[field.name]
            elif field.default is not _MISSING:
                out[field.name] = field.default()
            elif error is DeError:
                out[field.name] = field.type.missing(field.name)
            elif isinstance(field.type, Opt):
                out[field.name] = None
            else:
                raise NoMatch
        if self.flatten is not None:
            try:
                out.update(self.flatten.accept(collected))
            except NoMatch:
                if error is not DeError:
                    raise
                raise DeError(
                    f"data did not match any variant of untagged enum {getattr(self.flatten, 'name', '')}"
                ) from None
        return out

    def accept(self, content: Any) -> Any:
        values: dict[str, Any] = {}
        collected = ContentMap()
        if isinstance(content, ContentMap):
            for key, item in content:
                field = self.lookup.get(key)
                if field is None:
                    collected.append((key, item))
                    continue
                if field.name in values:
                    raise NoMatch
                values[field.name] = field.type.accept(item)
        elif isinstance(content, list) and self.flatten is None:
            if len(content) > len(self.fields):
                raise NoMatch
            for field, item in zip(self.fields, content, strict=False):
                values[field.name] = field.type.accept(item)
            for field in self.fields[len(content) :]:
                if field.default is _MISSING:
                    raise NoMatch
        else:
            raise NoMatch
        return self._finish(values, collected, NoMatch)


class Untagged(Type):
    """`#[serde(untagged)]`: the value is buffered, then each variant is tried in order."""

    def __init__(self, name: str, variants: Sequence[Type]) -> None:
        self.name = name
        self.variants = list(variants)
        self.expecting = f"untagged enum {name}"

    def _read(self, r: Reader, path: Path) -> Any:
        content = r.content(path)
        try:
            return self.accept(content)
        except NoMatch:
            raise DeError(f"data did not match any variant of untagged enum {self.name}") from None

    def accept(self, content: Any) -> Any:
        for variant in self.variants:
            try:
                return variant.accept(content)
            except NoMatch:
                continue
        raise NoMatch


class Null(Type):
    """An untagged unit variant: matches `null` only."""

    def accept(self, content: Any) -> Any:
        if content is None:
            return None
        raise NoMatch


class Mapped(Type):
    """`#[serde(from/try_from = ...)]`: the inner type's value converted (a `str` result is a custom error)."""

    def __init__(self, inner: Type, convert: Callable[[Any], Any]) -> None:
        self.inner = inner
        self.convert = convert
        self.expecting = inner.expecting

    def _read(self, r: Reader, path: Path) -> Any:
        result = self.convert(self.inner.read(r, path))
        if isinstance(result, Refused):
            raise DeError(result.message)
        return result

    def accept(self, content: Any) -> Any:
        result = self.convert(self.inner.accept(content))
        if isinstance(result, Refused):
            raise NoMatch
        return result


@dataclass(frozen=True)
class Refused:
    message: str


class InternallyTagged(Type):
    """`#[serde(tag = "...")]` enums, needed only inside untagged enums (buffered content)."""

    def __init__(self, tag: str, variants: dict[str, Struct]) -> None:
        self.tag = tag
        self.variants = variants

    def accept(self, content: Any) -> Any:
        if not isinstance(content, ContentMap):
            raise NoMatch
        tags = [v for k, v in content if k == self.tag]
        if len(tags) != 1 or not isinstance(tags[0], str) or tags[0] not in self.variants:
            raise NoMatch
        rest = ContentMap((k, v) for k, v in content if k != self.tag)
        return {self.tag: tags[0], **self.variants[tags[0]].accept(rest)}


class AdjacentlyTagged(Type):
    """`#[serde(tag = "type", content = "value")]` (GrammarType): `{"type": variant, "value": ...}`."""

    def __init__(self, name: str, variants: dict[str, Type], aliases: dict[str, str]) -> None:
        self.name = name
        self.variants = variants
        self.aliases = aliases
        self.expecting = f"adjacently tagged enum {name}"
        names = [*variants, *aliases]
        self.names = ", ".join(f"`{n}`" for n in names)

    def _variant(self, r: Reader) -> str:
        if r.peek_value() != ord('"'):
            raise r.invalid_type("variant identifier")
        r.eat()
        name = r.string()
        name = self.aliases.get(name, name)
        if name not in self.variants:
            raise r.fix(DeError(f"unknown variant `{name}`, expected one of {self.names}"))
        return name

    def _read(self, r: Reader, path: Path) -> Any:
        byte = r.peek_value()
        if byte not in (ord("{"), ord("[")):
            raise r.invalid_type(self.expecting)
        r.enter()
        r.eat()
        end = r.end_map if byte == ord("{") else r.end_seq
        try:
            value = self._visit_map(r, path) if byte == ord("{") else self._visit_seq(r, path)
        except DeError as err:
            r.leave()
            raise _closing(r, err, end) from None
        r.leave()
        end()
        return value

    def _visit_map(self, r: Reader, path: Path) -> Any:
        tag: str | None = None
        value: Any = _MISSING
        buffered: Any = _MISSING
        first = True
        while r.has_key(first):
            first = False
            key = r.key()
            if key == "type":
                if tag is not None:
                    raise DeError("duplicate field `type`")
                r.colon()
                try:
                    tag = self._variant(r)
                except DeError as err:
                    if err.path is None:
                        err.path = (*path, key)
                    raise
            elif key == "value":
                if value is not _MISSING or buffered is not _MISSING:
                    raise DeError("duplicate field `value`")
                r.colon()
                if tag is None:
                    buffered = r.content((*path, key))
                else:
                    value = self.variants[tag].read(r, (*path, key))
            else:
                r.colon()
                r.skip()
        if tag is None:
            raise DeError("missing field `type`")
        if buffered is not _MISSING:
            try:
                value = self.variants[tag].accept(buffered)
            except NoMatch:
                raise DeError(f"invalid type: map, expected {self.variants[tag].expecting}") from None
        if value is _MISSING:
            value = self.variants[tag].missing("value")
        return {"type": tag, "value": value}

    def _visit_seq(self, r: Reader, path: Path) -> Any:
        if not r.has_element(True):
            raise DeError(f"invalid length 0, expected {self.expecting}")
        tag = self._variant(r)
        if not r.has_element(False):
            raise DeError(f"invalid length 1, expected {self.expecting}")
        return {"type": tag, "value": self.variants[tag].read(r, (*path, 1))}

    def accept(self, content: Any) -> Any:
        if isinstance(content, ContentMap):
            tags = [v for k, v in content if k == "type"]
            values = [v for k, v in content if k == "value"]
            if len(tags) != 1 or len(values) > 1 or not isinstance(tags[0], str):
                raise NoMatch
            tag = self.aliases.get(tags[0], tags[0])
            if tag not in self.variants:
                raise NoMatch
            if not values:
                if not isinstance(self.variants[tag], Opt):
                    raise NoMatch
                return {"type": tag, "value": None}
            return {"type": tag, "value": self.variants[tag].accept(values[0])}
        raise NoMatch


# --- TGI 3.3.7's bodies (router/src/lib.rs, sagemaker.rs) -----------------------------------------------------
U32 = Int("u32", 0, 2**32 - 1)
U64 = Int("u64", 0, 2**64 - 1)
USIZE = Int("usize", 0, 2**64 - 1)
I32 = Int("i32", -(2**31), 2**31 - 1)


def _none() -> None:
    return None


def _false() -> bool:
    return False


def _opt(name: str, inner: Type) -> Field:
    return Field(name, Opt(inner), _none)


GRAMMAR = AdjacentlyTagged(
    "GrammarType",
    {
        "json": Value(),
        "regex": Str(),
        "json_schema": Struct("JsonSchemaConfig", [Field("name", Opt(Str())), Field("schema", Value())]),
    },
    {"json_object": "json"},
)

PARAMETERS = Struct("GenerateParameters", [
    _opt("best_of", USIZE), _opt("temperature", F32()), _opt("repetition_penalty", F32()),
    _opt("frequency_penalty", F32()), _opt("top_k", I32), _opt("top_p", F32()), _opt("typical_p", F32()),
    Field("do_sample", Bool(), _false), _opt("max_new_tokens", U32), _opt("return_full_text", Bool()),
    Field("stop", Seq(Str()), list), _opt("truncate", USIZE), Field("watermark", Bool(), _false),
    Field("details", Bool(), _false), Field("decoder_input_details", Bool(), _false), _opt("seed", U64),
    _opt("top_n_tokens", U32), _opt("grammar", GRAMMAR), _opt("adapter_id", Str()),
])  # fmt: skip


def default_parameters() -> dict[str, Any]:
    """TGI's `default_parameters()` for an omitted `parameters`: like serde's defaults but `do_sample: true`."""
    params = PARAMETERS.accept(ContentMap())
    params["do_sample"] = True
    return dict(params)


GENERATE = Struct(
    "GenerateRequest", [Field("inputs", Str()), Field("parameters", PARAMETERS, default_parameters)]
)
COMPAT = Struct("CompatGenerateRequest", [
    Field("inputs", Str()), Field("parameters", PARAMETERS, default_parameters), Field("stream", Bool(), _false),
])  # fmt: skip

_URL = Struct("Url", [Field("url", Str())])
_CHUNK = InternallyTagged("type", {
    "text": Struct("Text", [Field("text", Str())]),
    "image_url": Struct("ImageUrl", [Field("image_url", _URL)]),
})  # fmt: skip
_CONTENT = Untagged("MessageContent", [Str(), Seq(_CHUNK)])
_FUNCTION = Struct("FunctionDefinition", [
    _opt("description", Str()), Field("name", Str()), Field("arguments", Value(), aliases=("parameters",)),
])  # fmt: skip
_TOOL_CALL = Struct("ToolCall", [Field("id", Str()), Field("type", Str()), Field("function", _FUNCTION)])
_BODY = Untagged("MessageBody", [
    Struct("Content", [Field("content", _CONTENT)]), Struct("Tool", [Field("tool_calls", Seq(_TOOL_CALL))]),
])  # fmt: skip
MESSAGE = Struct("Message", [Field("role", Str()), _opt("name", Str())], flatten=_BODY)
_TOOL = Struct("Tool", [Field("type", Str()), Field("function", _FUNCTION)])


def _tool_choice(value: Any) -> Any:
    """`ToolChoice::from(ToolTypeDeserializer)`: null -> auto; a string other than none/auto/required names a
    function."""
    if value is None:
        return "auto"
    if isinstance(value, str):
        return value if value in ("none", "auto", "required") else {"function": {"name": value}}
    return value


_TOOL_CHOICE = Mapped(Untagged("ToolTypeDeserializer", [
    Null(), Str(), InternallyTagged("type", {"function": Struct("Function", [
        Field("function", Struct("FunctionName", [Field("name", Str())])),
    ])}),
]), _tool_choice)  # fmt: skip
_STREAM_OPTIONS = Struct("StreamOptions", [Field("include_usage", Bool(), _false)])

CHAT = Struct("ChatRequest", [
    Field("model", Opt(Str())), Field("messages", Seq(MESSAGE)), _opt("frequency_penalty", F32()),
    _opt("logit_bias", Seq(F32())), _opt("logprobs", Bool()), _opt("top_logprobs", U32),
    Field("max_tokens", Opt(U32), _none, aliases=("max_completion_tokens",)), _opt("n", U32),
    _opt("presence_penalty", F32()), _opt("stop", Seq(Str())), Field("stream", Bool(), _false),
    Field("seed", Opt(U64)), _opt("temperature", F32()), _opt("top_p", F32()), _opt("tools", Seq(_TOOL)),
    _opt("tool_prompt", Str()), Field("tool_choice", _TOOL_CHOICE, lambda: "auto"),
    _opt("response_format", GRAMMAR), Field("stream_options", _STREAM_OPTIONS, lambda: {"include_usage": False}),
])  # fmt: skip


def _prompt(value: Any) -> Any:
    """`Prompt: TryFrom<PromptDeserializer>`: one string or a non-empty list of strings."""
    if isinstance(value, str):
        return [value]
    if not value:
        return Refused("Empty array detected. Do not use an empty array for the prompt.")
    return value


COMPLETION = Struct("CompletionRequest", [
    Field("model", Opt(Str())), Field("prompt", Mapped(Untagged("PromptDeserializer", [Str(), Seq(Str())]), _prompt)),
    _opt("max_tokens", U32), _opt("temperature", F32()), _opt("top_p", F32()), Field("stream", Bool(), _false),
    Field("seed", Opt(U64)), _opt("suffix", Str()), _opt("repetition_penalty", F32()),
    _opt("frequency_penalty", F32()), _opt("stop", Seq(Str())),
])  # fmt: skip

SAGEMAKER = Untagged("SagemakerRequest", [
    Mapped(COMPAT, lambda v: ("generate", v)), Mapped(CHAT, lambda v: ("chat", v)),
    Mapped(COMPLETION, lambda v: ("completion", v)),
])  # fmt: skip


def parse(body: bytes, schema: Type) -> Any:
    """axum's `Json<T>` extraction of `body`: the typed value, or its plain-text rejection (400 / 422)."""
    try:
        return schema.read(Reader(body), ())
    except DeError as err:
        if err.syntax:
            raise PlainError(400, f"Failed to parse the request body as JSON: {err.text()}") from None
        raise PlainError(
            422, f"Failed to deserialize the JSON body into the target type: {err.text()}"
        ) from None
