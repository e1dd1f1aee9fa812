"""The same settings on another engine: what Compose renders for its second engine, and how to compare the two.

Everything but the engine group carries over (model, limits, host, secrets, timeouts: their meaning is the same,
each engine translates them); the engine group becomes the other engine's defaults: its pinned image, no version
pin, and no extra args (those are one launcher's own flags). Telemetry stays as chosen.
"""

from __future__ import annotations

from orchestrator.config.settings import EngineSettings, Settings

__all__ = ["as_engine"]


def as_engine(settings: Settings, kind: str) -> Settings:
    """`settings` as they would be with `engine.kind = kind` (the same object when that is already the kind)."""
    if settings.engine.kind == kind:
        return settings
    engine = EngineSettings.model_validate({"kind": kind, "usage_stats": settings.engine.usage_stats})
    moved = settings.model_copy(update={"engine": engine})
    moved._sources = {path: src for path, src in settings._sources.items() if not path.startswith("engine.")}
    moved._sources["engine.kind"] = f"derived (the {kind} counterpart of these settings)"
    return moved
