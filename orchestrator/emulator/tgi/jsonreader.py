"""A byte-level JSON reader with serde_json 1.0.140's grammar, error texts and positions (`SliceRead`).

TGI reads request bodies with `serde_json::Deserializer::from_slice`, driven by the target type: parsing stops at
the first error in document order, and a value of the wrong type is reported where the reader stands after it. This
module is the reader half (the schema half, `schema.py`, drives it). Positions are serde_json's: line 1-based, column
= bytes from the start of the line up to the reader's index (`error`) or one past it (`peek_error`).
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["ContentMap", "DeError", "Reader"]

RECURSION_LIMIT = 128  # serde_json's `remaining_depth`

_ESCAPES = {ord('"'): '"', ord("\\"): "\\", ord("/"): "/", ord("b"): "\b", ord("f"): "\f", ord("n"): "\n",
            ord("r"): "\r", ord("t"): "\t"}  # fmt: skip
_WHITESPACE = b" \n\t\r"
_DIGITS = b"0123456789"
_STRING_STOP = re.compile(rb'["\\\x00-\x1f]')  # where `parse_str` stops: quote, backslash, control


class DeError(Exception):
    """A serde error: message, position (line 0 = not yet placed), path (None = not yet tracked), category."""

    def __init__(self, message: str, *, syntax: bool = False, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.syntax = syntax  # serde_json Category::Syntax/Eof (400) rather than Data (422)
        self.line = line
        self.column = column
        self.path: tuple[str | int, ...] | None = None

    def text(self) -> str:
        """`serde_path_to_error::Error`'s Display: `path: message at line L column C`."""
        prefix = ""
        if self.path:
            prefix = (
                "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path).lstrip(".") + ": "
            )
        where = f" at line {self.line} column {self.column}" if self.line else ""
        return f"{prefix}{self.message}{where}"


class ContentMap(list[tuple[str, Any]]):
    """serde's buffered `Content::Map`: entries in document order, duplicates kept."""


def unexpected(value: Any) -> str:
    """serde's `Unexpected` wording for a buffered or just-read value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{_float_text(value)}`"
    if isinstance(value, str):
        return "string " + _debug_str(value)
    if isinstance(value, ContentMap | dict):
        return "map"
    return "sequence"


def _float_text(value: float) -> str:
    """serde's `WithDecimalPoint(f64)`: Rust's shortest `{}` (never exponent form), `.0` added when integral."""
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if mantissa.startswith("-") else ""
        mantissa = mantissa.lstrip("-")
        point = mantissa.find(".")
        digits = mantissa.replace(".", "")
        shift = (len(mantissa) if point < 0 else point) + int(exponent)
        digits = digits.rstrip("0") or "0"
        if shift <= 0:
            text = f"{sign}0.{'0' * -shift}{digits}"
        elif shift >= len(digits):
            text = f"{sign}{digits}{'0' * (shift - len(digits))}"
        else:
            text = f"{sign}{digits[:shift]}.{digits[shift:]}"
    return text if "." in text else text + ".0"


def _debug_str(value: str) -> str:
    """Rust's `{:?}` for a str: double quotes, `\\"`, `\\\\`, `\\n`, `\\r`, `\\t`, `\\0`, `\\u{..}` for controls."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\0":
            out.append("\\0")
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            out.append(f"\\u{{{code:x}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class Reader:
    """serde_json's `Deserializer<SliceRead>` primitives over one request body."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.index = 0
        self.depth = RECURSION_LIMIT

    # positions and errors -------------------------------------------------------------------------------------
    def _position(self, i: int) -> tuple[int, int]:
        start = self.data.rfind(b"\n", 0, i) + 1
        return self.data.count(b"\n", 0, start) + 1, i - start

    def error(self, message: str) -> DeError:
        line, column = self._position(self.index)
        return DeError(message, syntax=True, line=line, column=column)

    def peek_error(self, message: str) -> DeError:
        line, column = self._position(min(len(self.data), self.index + 1))
        return DeError(message, syntax=True, line=line, column=column)

    def fix(self, err: DeError) -> DeError:
        """`fix_position`: a data error without a position gets the reader's current one."""
        if not err.line:
            err.line, err.column = self._position(self.index)
        return err

    # bytes ---------------------------------------------------------------------------------------------------
    def peek(self) -> int | None:
        return self.data[self.index] if self.index < len(self.data) else None

    def eat(self) -> None:
        self.index += 1

    def next(self) -> int | None:
        byte = self.peek()
        if byte is not None:
            self.index += 1
        return byte

    def at_digit(self) -> bool:
        return self.index < len(self.data) and self.data[self.index] in _DIGITS

    def ws(self) -> int | None:
        data, i, n = self.data, self.index, len(self.data)
        while i < n and data[i] in _WHITESPACE:
            i += 1
        self.index = i
        return data[i] if i < n else None

    def peek_value(self) -> int:
        """Whitespace, then the next byte; EOF is `EOF while parsing a value`."""
        byte = self.ws()
        if byte is None:
            raise self.peek_error("EOF while parsing a value")
        return byte

    def ident(self, rest: bytes) -> None:
        for expected in rest:
            byte = self.next()
            if byte is None:
                raise self.error("EOF while parsing a value")
            if byte != expected:
                raise self.error("expected ident")

    def enter(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            raise self.peek_error("recursion limit exceeded")

    def leave(self) -> None:
        self.depth += 1

    # numbers -------------------------------------------------------------------------------------------------
    def number(self, positive: bool) -> int | float:
        """`parse_integer`: u64/i64 as int, anything else (fraction, exponent, overflow) as float."""
        start = self.index - (0 if positive else 1)
        first = self.next()
        if first is None:
            raise self.error("EOF while parsing a value")
        if first == ord("0"):
            if self.at_digit():
                raise self.peek_error("invalid number")
        elif first not in _DIGITS:
            raise self.error("invalid number")
        else:
            while self.at_digit():
                self.eat()
        is_float = False
        if self.peek() == ord("."):
            is_float = True
            self.eat()
            digits = 0
            while self.at_digit():
                self.eat()
                digits += 1
            if not digits:
                raise self.peek_error(
                    "invalid number" if self.peek() is not None else "EOF while parsing a value"
                )
        if self.peek() in (ord("e"), ord("E")):
            is_float = True
            self.eat()
            if self.peek() in (ord("+"), ord("-")):
                self.eat()
            byte = self.next()
            if byte is None:
                raise self.error("EOF while parsing a value")
            if byte not in _DIGITS:
                raise self.error("invalid number")
            while self.at_digit():
                self.eat()
        text = self.data[start : self.index].decode()
        if not is_float and len(text) <= 21:  # longer than u64/i64 can be: serde_json goes to f64 too
            value = int(text)
            if value == 0 and not positive:
                return -0.0
            if -(2**63) <= value < 2**64:
                return value
        result = float(text)
        if math.isinf(result):
            raise self.error("number out of range")
        return result

    def skip_number(self) -> None:
        """`ignore_integer`: the grammar only, no range check."""
        first = self.next()
        if first == ord("0"):
            if self.at_digit():
                raise self.peek_error("invalid number")
        elif first is None or first not in _DIGITS:
            raise self.error("invalid number")
        while self.at_digit():
            self.eat()
        if self.peek() == ord("."):
            self.eat()
            if not self.at_digit():
                raise self.peek_error("invalid number")
            while self.at_digit():
                self.eat()
        if self.peek() in (ord("e"), ord("E")):
            self.eat()
            if self.peek() in (ord("+"), ord("-")):
                self.eat()
            byte = self.next()
            if byte is None or byte not in _DIGITS:
                raise self.error("invalid number")
            while self.at_digit():
                self.eat()

    # strings -------------------------------------------------------------------------------------------------
    def string(self, validate: bool = True) -> str:
        """`parse_str` after the opening quote: escapes, control characters, UTF-8, paired surrogates."""
        data, n = self.data, len(self.data)
        raw = bytearray()
        while True:
            found = _STRING_STOP.search(data, self.index)
            i = found.start() if found else n
            raw += data[self.index : i]
            self.index = i
            if i == n:
                raise self.error("EOF while parsing a string")
            byte = data[i]
            self.index += 1
            if byte == ord('"'):
                break
            if byte != ord("\\"):
                if not validate:
                    self.index -= 1  # `ignore_str` reports at the character, `parse_str` after it
                raise self.error("control character (\\u0000-\\u001F) found while parsing a string")
            escape = self.next()
            if escape is None:
                raise self.error("EOF while parsing a string")
            if escape in _ESCAPES:
                raw += _ESCAPES[escape].encode()
            elif escape == ord("u"):
                if validate:
                    raw += self._unicode_escape()
                else:
                    self._hex4()
            else:
                raise self.error("invalid escape")
        if not validate:
            return ""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("invalid unicode code point") from None

    def _hex4(self) -> int:
        if self.index + 4 > len(self.data):
            self.index = len(self.data)
            raise self.error("EOF while parsing a string")
        chunk = self.data[self.index : self.index + 4]
        self.index += 4
        try:
            if not all(c in b"0123456789abcdefABCDEF" for c in chunk):
                raise ValueError
            return int(chunk, 16)
        except ValueError:
            raise self.error("invalid escape") from None

    def _unicode_escape(self) -> bytes:
        n = self._hex4()
        if 0xDC00 <= n <= 0xDFFF:
            raise self.error("lone leading surrogate in hex escape")
        if not 0xD800 <= n <= 0xDBFF:
            return chr(n).encode()
        for expected in (ord("\\"), ord("u")):
            if self.peek() is None:
                raise self.error("EOF while parsing a string")
            if self.peek() != expected:
                self.eat()
                raise self.error("unexpected end of hex escape")
            self.eat()
        n2 = self._hex4()
        if not 0xDC00 <= n2 <= 0xDFFF:
            raise self.error("lone leading surrogate in hex escape")
        return chr(((n - 0xD800) << 10 | (n2 - 0xDC00)) + 0x10000).encode()

    # compound values -------------------------------------------------------------------------------------------
    def end_seq(self) -> None:
        byte = self.ws()
        if byte == ord("]"):
            self.eat()
            return
        if byte == ord(","):
            self.eat()
            raise self.peek_error("trailing comma" if self.ws() == ord("]") else "trailing characters")
        raise self.peek_error("EOF while parsing a list" if byte is None else "trailing characters")

    def end_map(self) -> None:
        byte = self.ws()
        if byte == ord("}"):
            self.eat()
            return
        if byte == ord(","):
            raise self.peek_error("trailing comma")
        raise self.peek_error("EOF while parsing an object" if byte is None else "trailing characters")

    def has_element(self, first: bool) -> bool:
        byte = self.ws()
        if byte is None:
            raise self.peek_error("EOF while parsing a list")
        if byte == ord("]"):
            return False
        if first:
            return True
        if byte != ord(","):
            raise self.peek_error("expected `,` or `]`")
        self.eat()
        byte = self.ws()
        if byte == ord("]"):
            raise self.peek_error("trailing comma")
        if byte is None:
            raise self.peek_error("EOF while parsing a value")
        return True

    def has_key(self, first: bool) -> bool:
        byte = self.ws()
        if byte is None:
            raise self.peek_error("EOF while parsing an object")
        if byte == ord("}"):
            return False
        if not first:
            if byte != ord(","):
                raise self.peek_error("expected `,` or `}`")
            self.eat()
            byte = self.ws()
            if byte == ord("}"):
                raise self.peek_error("trailing comma")
            if byte is None:
                raise self.peek_error("EOF while parsing a value")
        if byte != ord('"'):
            raise self.peek_error("key must be a string")
        return True

    def key(self) -> str:
        """A map key (the opening quote is next), then the colon."""
        self.eat()
        return self.string()

    def colon(self) -> None:
        byte = self.ws()
        if byte == ord(":"):
            self.eat()
            return
        raise self.peek_error("EOF while parsing an object" if byte is None else "expected `:`")

    def invalid_type(self, expected: str) -> DeError:
        """`peek_invalid_type`: read the offending scalar (not a container), then `invalid type: X, expected Y`."""
        byte = self.peek()
        if byte == ord("n"):
            self.eat()
            self.ident(b"ull")
            found = "null"
        elif byte == ord("t"):
            self.eat()
            self.ident(b"rue")
            found = "boolean `true`"
        elif byte == ord("f"):
            self.eat()
            self.ident(b"alse")
            found = "boolean `false`"
        elif byte == ord("-"):
            self.eat()
            found = unexpected(self.number(False))
        elif byte is not None and byte in _DIGITS:
            found = unexpected(self.number(True))
        elif byte == ord('"'):
            self.eat()
            found = unexpected(self.string())
        elif byte == ord("["):
            found = "sequence"
        elif byte == ord("{"):
            found = "map"
        else:
            raise self.peek_error("expected value")
        return self.fix(DeError(f"invalid type: {found}, expected {expected}"))

    def skip(self) -> None:
        """`ignore_value`: check the grammar of a value nobody reads (iterative, no UTF-8 or range checks)."""
        frames: list[int] = []
        while True:
            byte = self.peek_value()
            if byte in (ord("["), ord("{")):
                self.eat()
                frames.append(byte)
                accept_comma = False
            else:
                self._skip_scalar(byte)
                if not frames:
                    return
                accept_comma = True
            while True:
                frame = frames[-1]
                close = ord("]") if frame == ord("[") else ord("}")
                nxt = self.ws()
                if nxt is None:
                    raise self.peek_error(
                        "EOF while parsing a list" if frame == ord("[") else "EOF while parsing an object"
                    )
                if nxt == ord(",") and accept_comma:
                    self.eat()
                    break
                if nxt == close:
                    self.eat()
                    frames.pop()
                    if not frames:
                        return
                    accept_comma = True
                    continue
                if accept_comma:
                    raise self.peek_error(
                        "expected `,` or `]`" if frame == ord("[") else "expected `,` or `}`"
                    )
                break
            if frames[-1] == ord("{"):
                nxt = self.ws()
                if nxt is None:
                    raise self.peek_error("EOF while parsing an object")
                if nxt != ord('"'):
                    raise self.peek_error("key must be a string")
                self.eat()
                self.string(validate=False)
                self.colon()

    def _skip_scalar(self, byte: int) -> None:
        if byte == ord("n"):
            self.eat()
            self.ident(b"ull")
        elif byte == ord("t"):
            self.eat()
            self.ident(b"rue")
        elif byte == ord("f"):
            self.eat()
            self.ident(b"alse")
        elif byte == ord("-"):
            self.eat()
            self.skip_number()
        elif byte in _DIGITS:
            self.skip_number()
        elif byte == ord('"'):
            self.eat()
            self.string(validate=False)
        else:
            raise self.peek_error("expected value")

    def content(self, path: tuple[str | int, ...]) -> Any:
        """`deserialize_any` into serde's buffered `Content` (maps as `ContentMap`), tracking the path."""
        byte = self.peek_value()
        try:
            if byte == ord("n"):
                self.eat()
                self.ident(b"ull")
                return None
            if byte == ord("t"):
                self.eat()
                self.ident(b"rue")
                return True
            if byte == ord("f"):
                self.eat()
                self.ident(b"alse")
                return False
            if byte == ord("-"):
                self.eat()
                return self.number(False)
            if byte in _DIGITS:
                return self.number(True)
            if byte == ord('"'):
                self.eat()
                return self.string()
            if byte == ord("["):
                self.enter()
                self.eat()
                items: list[Any] = []
                try:
                    while self.has_element(not items):
                        items.append(self.content((*path, len(items))))
                finally:
                    self.leave()
                self.end_seq()
                return items
            if byte == ord("{"):
                self.enter()
                self.eat()
                entries = ContentMap()
                try:
                    while self.has_key(not entries):
                        name = self.key()
                        self.colon()
                        entries.append((name, self.content((*path, name))))
                finally:
                    self.leave()
                self.end_map()
                return entries
            raise self.peek_error("expected value")
        except DeError as err:
            if err.path is None:
                err.path = path
            raise
