"""Assembles the typer app from one module per command group; heavy imports stay inside commands."""

from __future__ import annotations

from typing import Any

import typer

from orchestrator.cli import (
    compose_cmd,
    config_cmd,
    deploy_cmd,
    doctor_cmd,
    emulate_cmd,
    k8s_cmd,
    load_cmd,
    lock_cmd,
    pull_cmd,
    smoke_cmd,
)


def _flags_show_no_type() -> None:
    """Typer 0.29's rich help labels every flag `<bool>` (`--help`, `--dry-run`), as if it took a value: flags
    take none, so their type column stays empty, as in typer's plain help. Options with values keep theirs."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "flags_show_no_type", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> Any:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich.flags_show_no_type = True  # type: ignore[attr-defined]
    setattr(TyperOption, "display_type_rich", display_type_rich)  # noqa: B010


_flags_show_no_type()

app = typer.Typer(
    name="orchestrator",
    help=(
        "Deploy and exercise Hugging Face TGI serving Mistral 7B Instruct v0.2 AWQ.\n\n"
        "Settings come from flags, ORCHESTRATOR_* environment variables, .env, orchestrator.toml and defaults, "
        "in that order. Start with `orchestrator config show`, then `orchestrator up --dry-run`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (config_cmd, deploy_cmd, pull_cmd, emulate_cmd, load_cmd, smoke_cmd, compose_cmd, k8s_cmd):
    module.register(app)
doctor_cmd.register(app)
lock_cmd.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
