"""`up`'s pull: `orchestrator pull`'s library, called with the revision `up` serves (placeholder until merged)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings

__all__ = ["pull_for_up"]


def pull_for_up(settings: Settings, revision: str, say: Callable[[str], None]) -> None:
    raise NotImplementedError("orchestrator pull is not merged yet")
