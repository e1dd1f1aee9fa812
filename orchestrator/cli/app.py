"""Assembles the typer app from one module per command group; heavy imports stay inside commands."""

from __future__ import annotations

import typer

from orchestrator.cli import compose_cmd, config_cmd, deploy_cmd, emulate_cmd, load_cmd, smoke_cmd

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

for module in (config_cmd, deploy_cmd, emulate_cmd, load_cmd, smoke_cmd, compose_cmd):
    module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
