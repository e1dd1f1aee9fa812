"""`orchestrator config show [--json]` and `orchestrator config validate`: parse, call the library, print.

No `from __future__ import annotations` here: typer must see the real `Annotated` options. Heavy imports
(pydantic-settings, rich) happen inside the commands so `orchestrator --help` stays fast.
Exit codes: 0 valid, 2 invalid settings (every problem listed, each with its source and a fix).
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.cli.options import make_console, settings_command

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings

__all__ = ["json_value", "register"]

config_app = typer.Typer(
    name="config",
    help="Show and check the effective settings (flags > env > .env > orchestrator.toml > defaults).",
    no_args_is_help=True,
)


def json_value(value: Any) -> Any:
    """A setting's value as JSON: secrets masked (`***`, or null when unset), paths as strings."""
    from pydantic import SecretStr

    if isinstance(value, SecretStr):
        return "***"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return value


def _text(value: Any) -> str:
    shown = json_value(value)
    if shown is None:
        return "-"
    return shown if isinstance(shown, str) else json.dumps(shown)


def show(
    *,
    settings: "Settings",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON).")] = False,
) -> None:
    """Print every effective setting with the source it came from (secrets masked)."""
    from orchestrator.config.settings import env_var_for
    from orchestrator.config.validation import warnings

    rows = list(settings.effective())
    if as_json:
        data = {
            "settings": {
                path: {"value": json_value(value), "source": source, "env": env_var_for(path)}
                for path, value, source in rows
            },
            "tgi_version": settings.engine.version_text,
            "engine": {"kind": settings.engine.kind, "version": settings.engine.version_text},
            "warnings": warnings(settings),
        }
        print(json.dumps(data, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"Effective settings ('-' = unset: {settings.serving_engine.name}'s own default)")
    for column in ("setting", "value", "source"):
        table.add_column(column, overflow="fold")
    for path, value, source in rows:
        table.add_row(path, _text(value), source)
    console = make_console()
    console.print(table)
    for warning in warnings(settings):
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


def validate(*, settings: "Settings") -> None:
    """Check the settings against the engine's rules (TGI's or vLLM's) and ours; exit 2 listing every problem."""
    from orchestrator.config.validation import warnings

    engine, version = settings.serving_engine, settings.engine.version
    shown = engine.format_version(version) if version else settings.engine.version_text
    print(f"OK: settings are valid for {engine.name} {shown} ({settings.engine.image}).")
    for warning in warnings(settings):
        print(f"warning: {warning}")


def register(app: typer.Typer) -> None:
    """Add the `config` command group (`show`, `validate`) to `app`."""
    config_app.command("show")(settings_command(show))
    config_app.command("validate")(settings_command(validate))
    app.add_typer(config_app, name="config")
