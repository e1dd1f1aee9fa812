"""Shared CLI plumbing: the settings flags every deployment command takes, and error-to-exit-code mapping.

`@settings_command` adds the settings flags to a command and hands it a validated `Settings` (keyword
`settings`). Secrets have no flags on purpose: flags show in process lists; use the environment or `.env`.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from orchestrator.config.settings import Settings

__all__ = [
    "SETTINGS_PANEL",
    "exit_on_errors",
    "load_cli_settings",
    "make_console",
    "print_error",
    "settings_command",
]

SETTINGS_PANEL = "Settings (flags beat ORCHESTRATOR_* env, .env, orchestrator.toml)"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class _Flag:
    param: str
    flag: str
    path: str
    kind: type
    help: str


_FLAGS: tuple[_Flag, ...] = (
    _Flag("name", "--name", "host.container_name", str, "Deployment (container) name."),
    _Flag("model_id", "--model-id", "model.id", str, "Model id on the Hub, or a path inside the container."),
    _Flag("engine_kind", "--engine", "engine.kind", str, "Serving engine: tgi (default) or vllm."),
    _Flag("image", "--image", "engine.image", str, "Engine image (pinned tag), or the emulator image."),
    _Flag("tgi_version", "--tgi-version", "engine.tgi_version", str, "TGI version of a custom image."),
    _Flag("vllm_version", "--vllm-version", "engine.vllm_version", str, "vLLM version of a custom image."),
    _Flag("port", "--port", "host.port", int, "Host port for TGI's API."),
    _Flag("bind", "--bind", "host.bind_address", str, "Host address to publish on (default loopback)."),
    _Flag("gpus", "--gpus", "host.gpus", str, "all, none, indices (0,1) or GPU UUIDs."),
    _Flag("max_input_tokens", "--max-input-tokens", "limits.max_input_tokens", int, "Longest prompt."),
    _Flag("max_total_tokens", "--max-total-tokens", "limits.max_total_tokens", int, "Prompt + output."),
    _Flag(
        "max_batch_prefill_tokens",
        "--max-batch-prefill-tokens",
        "limits.max_batch_prefill_tokens",
        int,
        "Tokens per prefill step.",
    ),
)


def _parameters() -> list[inspect.Parameter]:
    params = [
        inspect.Parameter(
            "config",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                Path | None,
                typer.Option(
                    "--config",
                    help="TOML settings file (default ./orchestrator.toml; env ORCHESTRATOR_CONFIG).",
                    rich_help_panel=SETTINGS_PANEL,
                ),
            ],
        ),
        inspect.Parameter(
            "set_values",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                list[str] | None,
                typer.Option(
                    "--set",
                    metavar="PATH=VALUE",
                    help="Any setting by dotted path, e.g. --set limits.max_batch_size=32 (repeatable).",
                    rich_help_panel=SETTINGS_PANEL,
                ),
            ],
        ),
    ]
    for flag in _FLAGS:
        params.append(
            inspect.Parameter(
                flag.param,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[
                    flag.kind | None, typer.Option(flag.flag, help=flag.help, rich_help_panel=SETTINGS_PANEL)
                ],
            )
        )
    return params


def load_cli_settings(
    *, config: Path | None = None, set_values: list[str] | None = None, **flags: Any
) -> Settings:
    """Settings from CLI flags over every other source; raises `ConfigError` (exit 2) with all problems."""
    from orchestrator.config.loading import load_settings
    from orchestrator.config.settings import env_var_for
    from orchestrator.errors import ConfigError, ConfigProblem

    overrides: dict[str, Any] = {}
    labels: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    for item in set_values or []:
        path, sep, value = item.partition("=")
        if not sep or not path.strip():
            problems.append(
                ConfigProblem(
                    "--set", "flag --set", repr(item), "expects PATH=VALUE", "e.g. --set host.port=8081"
                )
            )
            continue
        path = path.strip()
        if path.startswith("secrets."):
            problems.append(
                ConfigProblem(
                    path,
                    "flag --set",
                    "'***'",
                    "secrets cannot be flags: flags show in process lists and shell history",
                    f"set {env_var_for(path)} in the environment or .env",
                )
            )
            continue
        overrides[path] = _list_value(value) if path in _LIST_SETTINGS else value
        labels[path] = "flag --set"
    for flag in _FLAGS:
        flag_value = flags.get(flag.param)
        if flag_value is not None:
            overrides[flag.path] = flag_value
            labels[flag.path] = f"flag {flag.flag}"
    if problems:
        raise ConfigError(problems)
    return load_settings(overrides, config_file=config, flag_labels=labels)


_LIST_SETTINGS = frozenset({"engine.extra_args"})


def _list_value(text: str) -> Any:
    """A list setting from `--set`: JSON (`["--cuda-graphs", "0"]`) or shell words (`--cuda-graphs 0`)."""
    import json
    import shlex

    stripped = text.strip()
    if stripped.startswith("["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return text  # validation names the setting, the value and the expected form
    return shlex.split(text)


def settings_command(func: F) -> F:
    """Give a command the settings flags; it receives `settings=Settings` instead of them."""
    signature = inspect.signature(func)
    own = [p for name, p in signature.parameters.items() if name != "settings"]
    extra = _parameters()
    names = {p.name for p in extra}

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        flags = {name: kwargs.pop(name) for name in list(kwargs) if name in names}
        with exit_on_errors():
            settings = load_cli_settings(**flags)
        return func(*args, settings=settings, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *extra])  # type: ignore[attr-defined]
    annotations = {k: v for k, v in getattr(func, "__annotations__", {}).items() if k != "settings"}
    annotations.update({p.name: p.annotation for p in extra})
    wrapper.__annotations__ = annotations
    return wrapper  # type: ignore[return-value]


@contextmanager
def exit_on_errors() -> Iterator[None]:
    """Print an `OrchestratorError` in plain words on stderr and exit with its code (2 config, 3 engine...)."""
    from orchestrator.errors import OrchestratorError

    try:
        yield
    except OrchestratorError as exc:
        print_error(exc)
        raise typer.Exit(code=exc.exit_code) from None


def print_error(exc: Exception) -> None:
    """`Error: ...` on stderr, with a `DeploymentError`'s cause, fix and log tail under it."""
    from orchestrator.errors import DeploymentError

    print(f"Error: {exc}", file=sys.stderr)
    if isinstance(exc, DeploymentError):
        if exc.cause:
            print(f"Cause: {exc.cause}", file=sys.stderr)
        if exc.fix:
            print(f"Fix:   {exc.fix}", file=sys.stderr)
        if exc.log_tail:
            print("Last log lines:", file=sys.stderr)
            for line in exc.log_tail:
                print(f"  | {line}", file=sys.stderr)


UNCUT_WIDTH = 10_000
"""Console width outside a terminal: wide enough that no table cell or line of ours is wrapped or cut."""


def make_console(*, stderr: bool = False) -> Console:
    """A rich Console for a command's output, fitted to the terminal when there is one.

    Outside a terminal (a pipe, a file, CI logs) rich assumes 80 columns and folds or cuts table cells with
    `…`, which hid fixes and hints; there lines keep their full length instead (`COLUMNS` still wins if set).
    """
    import os

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    fitted = stream.isatty() or bool(os.environ.get("COLUMNS"))
    return Console(stderr=stderr, soft_wrap=True, width=None if fitted else UNCUT_WIDTH)
