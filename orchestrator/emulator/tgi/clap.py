"""A parser that reads flags and env vars the way `text-generation-launcher` (clap 4.5, derive + env) does.

One path for both sources: a value from the command line and the same value from its env var go through the same
typed parser and fail with the same message. What clap does and we copy (clap_builder 4.5.32):

* typed values: `u16`/`u32` are range-checked i64s (`99999 is not in 0..=65535`), `usize`/`u64`/`f32` use Rust's
  `FromStr` (`invalid digit found in string`, `number too large to fit in target type`, `invalid float literal`),
  `bool` and enums accept their exact names only (`[possible values: ...]`, plus a `tip:` when one is close);
* a flag given twice is an error, a switch takes no `=value`, env is read only for flags absent from argv;
* every usage error goes to stderr in clap's layout and exits 2; `--help` / `--version` print to stdout, exit 0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Arg", "ClapExit", "jaro", "parse"]

_U16 = (0, 65_535)
_U32 = (0, 4_294_967_295)
_I64 = (-(2**63), 2**63 - 1)
_U64_MAX = 2**64 - 1
_DIGITS = re.compile(r"[0-9]+")
_FLOAT = re.compile(
    r"[+-]?(?:inf|infinity|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)", re.IGNORECASE
)
BOOL_VALUES = ("true", "false")


@dataclass(frozen=True)
class Arg:
    """One clap argument. `kind`: str, u16, u32, i64, u64, usize, f32, f64, bool, enum, switch, strings (repeatable),
    usizes (repeatable, comma-delimited). `choices` are an enum's value names, in clap's order."""

    long: str
    env: str | None
    kind: str
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    short: str | None = None
    heading: str = "Options"

    @property
    def dest(self) -> str:
        return self.long.replace("-", "_")

    @property
    def takes_value(self) -> bool:
        return self.kind != "switch"

    @property
    def repeatable(self) -> bool:
        return self.kind in ("strings", "usizes")

    @property
    def display(self) -> str:
        """How clap names the argument in errors: `--port <PORT>`, or `--json-output` for a switch."""
        return f"--{self.long} <{self.dest.upper()}>" if self.takes_value else f"--{self.long}"


class ClapExit(Exception):
    """Parsing ended: `text` goes to stderr (code 2, a usage error) or stdout (code 0: help, version)."""

    def __init__(self, text: str, code: int) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


_TRY_HELP = "\n\nFor more information, try '--help'.\n"


def _usage(prog: str) -> str:
    return f"\n\nUsage: {prog} [OPTIONS]"


def jaro(a: str, b: str) -> float:
    """Jaro similarity (strsim's `jaro`, which clap's suggestions use with a 0.7 threshold)."""
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    search = max(max(len(a), len(b)) // 2 - 1, 0)
    a_flags, b_flags = [False] * len(a), [False] * len(b)
    matches = 0
    for i, char in enumerate(a):
        for j in range(max(i - search, 0), min(len(b), i + search + 1)):
            if not b_flags[j] and b[j] == char:
                a_flags[i] = b_flags[j] = True
                matches += 1
                break
    if matches == 0:
        return 0.0
    b_matched = [char for char, flag in zip(b, b_flags, strict=True) if flag]
    a_matched = [char for char, flag in zip(a, a_flags, strict=True) if flag]
    transpositions = sum(x != y for x, y in zip(a_matched, b_matched, strict=True)) // 2
    return (matches / len(a) + matches / len(b) + (matches - transpositions) / matches) / 3.0


def _did_you_mean(value: str, candidates: Sequence[str]) -> str | None:
    scored = [(jaro(value, candidate), candidate) for candidate in candidates]
    close = sorted((item for item in scored if item[0] > 0.7), key=lambda item: item[0])  # stable, as Rust's
    return close[-1][1] if close else None


class _Errors:
    """clap's error texts (RichFormatter, no colour)."""

    def __init__(self, prog: str) -> None:
        self.prog = prog

    def invalid_value(self, arg: Arg, value: str, possible: Sequence[str]) -> ClapExit:
        if value:
            text = f"error: invalid value '{value}' for '{arg.display}'"
        else:
            text = f"error: a value is required for '{arg.display}' but none was supplied"
        if possible:
            text += "\n  [possible values: " + ", ".join(_escape(v) for v in possible) + "]"
        suggestion = _did_you_mean(value, possible) if value else None
        if suggestion is not None:
            text += f"\n\n  tip: a similar value exists: '{suggestion}'"
        return ClapExit(text + _TRY_HELP, 2)

    def value_validation(self, arg: Arg, value: str, reason: str) -> ClapExit:
        return ClapExit(f"error: invalid value '{value}' for '{arg.display}': {reason}" + _TRY_HELP, 2)

    def unknown(self, token: str, longs: Sequence[str]) -> ClapExit:
        text = f"error: unexpected argument '{token}' found"
        if token.startswith("--"):
            suggestion = _did_you_mean(token[2:], longs)
            if suggestion is not None:
                text += f"\n\n  tip: a similar argument exists: '--{suggestion}'"
        return ClapExit(text + _usage(self.prog) + _TRY_HELP, 2)

    def used_twice(self, arg: Arg) -> ClapExit:
        text = f"error: the argument '{arg.display}' cannot be used multiple times"
        return ClapExit(text + _usage(self.prog) + _TRY_HELP, 2)

    def unneeded_value(self, arg: Arg, value: str) -> ClapExit:
        text = f"error: unexpected value '{value}' for '{arg.display}' found; no more were expected"
        return ClapExit(text + _usage(self.prog) + _TRY_HELP, 2)


def _escape(value: str) -> str:
    return repr(value).replace("'", '"') if any(c.isspace() for c in value) else value


def _integer(text: str, signed: bool) -> int | str:
    """Rust's integer `FromStr`: the value, or its error text."""
    if not text:
        return "cannot parse integer from empty string"
    sign, digits = (text[0], text[1:]) if text[0] in "+-" else ("+", text)
    if text[0] in "+-" and not digits:
        return "invalid digit found in string"
    if (sign == "-" and not signed) or not _DIGITS.fullmatch(digits):
        return "invalid digit found in string"
    return -int(digits) if sign == "-" else int(digits)


def _typed(arg: Arg, raw: str, errors: _Errors) -> Any:
    kind = arg.kind
    if kind in ("str", "strings"):
        return raw
    if kind in ("bool", "switch"):
        if raw not in BOOL_VALUES:
            raise errors.invalid_value(arg, raw, BOOL_VALUES)
        return raw == "true"
    if kind == "enum":
        if raw not in arg.choices:
            raise errors.invalid_value(arg, raw, arg.choices)
        return raw
    if kind in ("f32", "f64"):
        if not raw:
            raise errors.value_validation(arg, raw, "cannot parse float from empty string")
        if not _FLOAT.fullmatch(raw):
            raise errors.value_validation(arg, raw, "invalid float literal")
        return float(raw)
    return _int_value(arg, raw, errors)


def _int_value(arg: Arg, raw: str, errors: _Errors) -> int:
    kind = "usize" if arg.kind == "usizes" else arg.kind
    if kind in ("u16", "u32", "i64"):  # clap's RangedI64ValueParser: parse as i64, then check the range
        value = _integer(raw, signed=True)
        if isinstance(value, int) and not _I64[0] <= value <= _I64[1]:
            value = f"number too {'large' if value > 0 else 'small'} to fit in target type"
        if isinstance(value, str):
            raise errors.value_validation(arg, raw, value)
        low, high = {"u16": _U16, "u32": _U32, "i64": _I64}[kind]
        if not low <= value <= high:
            raise errors.value_validation(arg, raw, f"{value} is not in {low}..={high}")
        return value
    value = _integer(raw, signed=False)  # usize / u64: Rust's FromStr (64-bit)
    if isinstance(value, int) and value > _U64_MAX:
        value = "number too large to fit in target type"
    if isinstance(value, str):
        raise errors.value_validation(arg, raw, value)
    return value


def _values(arg: Arg, raw: str, errors: _Errors) -> list[Any]:
    parts = raw.split(",") if arg.kind == "usizes" else [raw]
    return [_typed(arg, part, errors) for part in parts]


def _help(args: Sequence[Arg], prog: str, about: str) -> str:
    lines = [about, "", f"Usage: {prog} [OPTIONS]"]
    heading = None
    for arg in args:
        if arg.heading != heading:
            heading = arg.heading
            lines += ["", f"{heading}:"]
        short = f"-{arg.short}, " if arg.short else "    "
        lines.append(f"  {short}{arg.display}")
        notes = [arg.help] if arg.help else []
        if arg.env:
            notes.append(f"[env: {arg.env}]")
        if arg.default not in (None, False, ()):
            notes.append(f"[default: {arg.default}]")
        if arg.choices:
            notes.append(f"[possible values: {', '.join(arg.choices)}]")
        lines += [f"          {note}" for note in notes]
    lines += ["  -h, --help", "          Print help", "  -V, --version", "          Print version", ""]
    return "\n".join(lines)


def _looks_like_flag(token: str) -> bool:
    return token.startswith("-") and len(token) > 1 and token != "--"


def _flag_name(token: str) -> str:
    """The part of a flag-like token clap names in `unexpected argument`: `--name` (before `=`) or `-x`."""
    return "--" + _split(token[2:])[0] if token.startswith("--") else token[:2]


def _known(token: str, by_long: Mapping[str, Arg], by_short: Mapping[str, Arg]) -> bool:
    if token.startswith("--"):
        return _split(token[2:])[0] in (*by_long, "help", "version")
    return token[1] in (*by_short, "h", "V")


def _split(token: str) -> tuple[str, str | None]:
    name, sep, value = token.partition("=")
    return name, (value if sep else None)


def parse(
    argv: Sequence[str],
    environ: Mapping[str, str],
    args: Sequence[Arg],
    *,
    prog: str,
    version: str,
    about: str,
) -> dict[str, Any]:
    """Parse like clap: argv first (in order), then env for absent flags (in definition order), then defaults.
    Returns {dest: value}; raises ClapExit for usage errors (code 2) and for --help/--version (code 0)."""
    errors = _Errors(prog)
    by_long = {arg.long: arg for arg in args}
    by_short = {arg.short: arg for arg in args if arg.short}
    longs = [arg.long for arg in args] + ["help", "version"]
    given: dict[str, list[Any]] = {}
    tokens = list(argv)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        attached: str | None
        if token.startswith("--") and token != "--":
            name, attached = _split(token[2:])
            if name in ("help", "version") and attached is None:
                raise ClapExit(_help(args, prog, about) if name == "help" else f"{prog} {version}\n", 0)
            found = by_long.get(name)
            if found is None:
                raise errors.unknown(f"--{name}", longs)
        elif token.startswith("-") and len(token) > 1 and token != "--":
            letter, rest = token[1], token[2:]
            if letter in ("h", "V") and not rest:
                raise ClapExit(_help(args, prog, about) if letter == "h" else f"{prog} {version}\n", 0)
            found = by_short.get(letter)
            if found is None:
                raise errors.unknown(f"-{letter}", longs)
            attached = rest[1:] if rest.startswith("=") else (rest or None)
            if not found.takes_value and rest:
                raise errors.unknown(f"-{rest[0]}", longs)
        else:
            raise errors.unknown(token, longs)
        if found.dest in given and not found.repeatable:
            raise errors.used_twice(found)
        if not found.takes_value:
            if attached is not None:
                raise errors.unneeded_value(found, attached)
            given[found.dest] = [True]
            continue
        if attached is None:
            if index >= len(tokens) or _looks_like_flag(tokens[index]):
                if index < len(tokens) and not _known(tokens[index], by_long, by_short):
                    raise errors.unknown(_flag_name(tokens[index]), longs)
                raise errors.invalid_value(
                    found, "", found.choices or (BOOL_VALUES if found.kind == "bool" else ())
                )
            attached = tokens[index]
            index += 1
        given.setdefault(found.dest, []).extend(_values(found, attached, errors))
    values: dict[str, Any] = {}
    for arg in args:
        parsed = given.get(arg.dest)
        if parsed is None and arg.env is not None and arg.env in environ:
            parsed = _values(arg, environ[arg.env], errors)
        if parsed is None:
            values[arg.dest] = (
                list(arg.default) if arg.repeatable and arg.default is not None else arg.default
            )
        elif arg.repeatable:
            values[arg.dest] = parsed
        else:
            values[arg.dest] = parsed[-1]
    return values
