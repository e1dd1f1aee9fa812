"""The engine a command that talks to an endpoint was told to expect: `engine.kind` when the user set it, else
None, meaning "follow what the endpoint answers as" (`smoke`, `load` detect it). Read defensively, so this
works whether or not the settings have an `engine` group yet."""

from __future__ import annotations

from typing import Any

__all__ = ["engine_given"]


def engine_given(settings: Any) -> str | None:
    """`engine.kind` when set by a flag, the environment or a file; None when it is the default."""
    engine = getattr(settings, "engine", None)
    if engine is None or settings.source_of("engine.kind") == "default":
        return None
    kind = getattr(engine, "kind", None)
    return None if kind is None else str(getattr(kind, "value", kind))
