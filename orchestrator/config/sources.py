"""Where settings come from, below the CLI flags: the environment, `.env` and `orchestrator.toml`, in that order.

`sources(settings_cls)` builds pydantic-settings' sources for the files chosen for this load (`using_files`),
and `trace_sources` tells, for every dotted setting path, which source supplied it, so that errors and
`orchestrator config show` can say where a value came from.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    TomlConfigSettingsSource,
)

__all__ = [
    "CONFIG_FILE_ENV",
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_ENV_FILE",
    "ENV_PREFIX",
    "config_file_from",
    "env_var_for",
    "sources",
    "trace_sources",
    "using_files",
]

ENV_PREFIX = "ORCHESTRATOR_"
CONFIG_FILE_ENV = "ORCHESTRATOR_CONFIG"
DEFAULT_CONFIG_FILE = Path("orchestrator.toml")
DEFAULT_ENV_FILE = Path(".env")

_config_file: ContextVar[Path | None] = ContextVar("orchestrator_config_file", default=None)
_env_file: ContextVar[Path | None] = ContextVar("orchestrator_env_file", default=DEFAULT_ENV_FILE)


@contextmanager
def using_files(config_file: Path | None, env_file: Path | None) -> Iterator[None]:
    """Make `sources` read these files for the duration of one load."""
    token_config = _config_file.set(config_file)
    token_env = _env_file.set(env_file)
    try:
        yield
    finally:
        _config_file.reset(token_config)
        _env_file.reset(token_env)


def env_var_for(path: str) -> str:
    """The environment variable that sets dotted `path`: `host.port` -> `ORCHESTRATOR_HOST__PORT`."""
    return ENV_PREFIX + path.replace(".", "__").upper()


def sources(settings_cls: type[BaseSettings]) -> list[tuple[str, PydanticBaseSettingsSource]]:
    """(label, source) in precedence order below the flags."""
    env_file = _env_file.get()
    config_file = _config_file.get()
    return [
        ("env", EnvSettingsSource(settings_cls, env_prefix=ENV_PREFIX, env_nested_delimiter="__")),
        (
            str(env_file) if env_file else ".env",
            DotEnvSettingsSource(
                settings_cls,
                env_file=env_file,
                env_prefix=ENV_PREFIX,
                env_nested_delimiter="__",
                dotenv_filtering="match_prefix",  # a shared .env (Compose's) may hold other tools' keys
            ),
        ),
        (str(config_file), TomlConfigSettingsSource(settings_cls, toml_file=config_file)),
    ]


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in data.items():
        path = f"{prefix}{key}".lower()
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{path}.")
        else:
            yield path


def trace_sources(settings_cls: type[BaseSettings], flag_labels: Mapping[str, str]) -> dict[str, str]:
    """Which source supplied each path: the first in precedence order that has it."""
    origins: dict[str, str] = {}
    for label, source in reversed(sources(settings_cls)):
        try:
            data = source()
        except Exception:  # a broken file is reported by the real load, not here
            continue
        for path in _flatten(data):
            if label == "env":
                origins[path] = f"env {env_var_for(path)}"
            else:
                origins[path] = label
    origins.update(flag_labels)
    return origins


def config_file_from(config_file: Path | None) -> Path | None:
    if config_file is not None:
        return config_file
    from_env = os.environ.get(CONFIG_FILE_ENV)
    if from_env:
        return Path(from_env)
    return DEFAULT_CONFIG_FILE
