"""One rendered object: the file it goes to, a comment for people, and the object as a plain dict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Manifest"]


@dataclass(frozen=True)
class Manifest:
    filename: str
    comment: str
    body: dict[str, Any]
