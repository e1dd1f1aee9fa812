"""Loading settings: merge flags, env, `.env`, TOML and defaults into `Settings`, then validate them.

The one module that imports both the settings model and its validation, so neither imports the other.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orchestrator.config.settings import Settings, setting_paths
from orchestrator.config.sources import (
    DEFAULT_ENV_FILE,
    config_file_from,
    env_var_for,
    trace_sources,
    using_files,
)
from orchestrator.config.validation import check
from orchestrator.errors import ConfigError, ConfigProblem

__all__ = ["load_settings"]


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    env_file: Path | None = DEFAULT_ENV_FILE,
    flag_labels: Mapping[str, str] | None = None,
    validate: bool = True,
) -> Settings:
    """Merge flags (`overrides`, dotted paths like `host.port`), env, `.env`, TOML and defaults, then validate.

    `flag_labels` names the flag behind each override (`{"host.port": "flag --port"}`) for error messages.
    Raises `ConfigError` listing every problem, each with its source, value and a fix.
    """
    flat = {k: v for k, v in (overrides or {}).items() if v is not None}
    labels = {path: (flag_labels or {}).get(path, "flag") for path in flat}
    chosen = config_file_from(config_file)
    problems: list[ConfigProblem] = []
    if config_file is not None and not config_file.is_file():
        problems.append(
            ConfigProblem(
                "config file",
                "flag --config",
                str(config_file),
                "file does not exist",
                "pass an existing TOML file",
            )
        )
    with using_files(chosen, env_file):
        origins = trace_sources(Settings, labels)
        try:
            settings = Settings(**_nest(flat))
        except ValidationError as exc:
            problems.extend(_problems_from(exc, origins))
            raise ConfigError(problems) from None
        except (ValueError, OSError) as exc:  # unreadable TOML / .env
            problems.append(
                ConfigProblem(
                    "config file", str(chosen), "(file)", f"cannot be read: {exc}", "fix the file's syntax"
                )
            )
            raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    settings._sources.update(origins)
    if validate:
        check(settings)
    return settings


def _problems_from(exc: ValidationError, sources: Mapping[str, str]) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        path = ".".join(loc[:2]) if len(loc) >= 2 else ".".join(loc)
        source = sources.get(path, "default")
        value = "***" if path.startswith("secrets.") else repr(error.get("input"))
        if error["type"] == "extra_forbidden":
            rule = "is not a known setting"
            close = difflib.get_close_matches(path, setting_paths(), n=1)
            fix = (
                f"did you mean {close[0]}?"
                if close
                else "remove it (`orchestrator config show` lists settings)"
            )
        else:
            rule = str(error["msg"])
            where = "" if path.startswith("secrets.") else "--set, "
            fix = f"set {path} ({where}{env_var_for(path)}, .env or orchestrator.toml) to a valid value"
        problems.append(ConfigProblem(path, source, value, rule, fix))
    return problems


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        group, _, name = path.partition(".")
        if not name:
            raise ConfigError(
                [
                    ConfigProblem(
                        path, "flag", repr(value), "not a setting path", "use group.name, e.g. host.port"
                    )
                ]
            )
        nested.setdefault(group, {})[name] = value
    return nested
