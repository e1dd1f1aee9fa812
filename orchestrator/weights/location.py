"""Where on the host the deployment's engine looks for the Hub cache: asked of the launch plan, not assumed.

The engine seam says what the container's environment holds (TGI 2.3+: `HF_HOME=/data`; before:
`HUGGINGFACE_HUB_CACHE=/data`) and where the host cache directory is mounted (`EngineLaunch.data_dir`).
huggingface_hub's own precedence (`HF_HUB_CACHE` > `HUGGINGFACE_HUB_CACHE` > `$HF_HOME/hub`) then names the
cache inside the container, and the mount maps it back to the host: `host.cache_dir/hub` for TGI 3.x.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.launch.plan import LaunchPlan

__all__ = ["container_hub_cache", "host_hub_cache", "hub_cache_of"]


def container_hub_cache(environment: dict[str, str]) -> str | None:
    """The hub cache huggingface_hub uses inside the container, or None when only its home default applies."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if environment.get(name):
            return environment[name]
    home = environment.get("HF_HOME")
    return posixpath.join(home, "hub") if home else None


def hub_cache_of(plan: LaunchPlan) -> Path:
    """The host directory that is the container's hub cache (inside a mount of the plan)."""
    inside = container_hub_cache(plan.environment)
    for mount in plan.mounts:
        if inside and (inside == mount.target or inside.startswith(mount.target.rstrip("/") + "/")):
            return Path(mount.source) / posixpath.relpath(inside, mount.target)
    raise ConfigError(
        [
            ConfigProblem(
                "host.cache_dir",
                "launch plan",
                repr(inside),
                "the engine's hub cache is not inside the mounted cache directory",
                "report this: the engine seam names a cache outside its data_dir",
            )
        ]
    )


def host_hub_cache(settings: Settings) -> Path:
    """The hub cache on the host that `orchestrator up` will mount for `settings`."""
    from orchestrator.launch.plan import build_plan

    return hub_cache_of(build_plan(settings))
