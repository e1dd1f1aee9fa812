"""`orchestrator emulate [text-generation-launcher flags]`: run the TGI emulator in the foreground.

Every argument is handed untouched to the emulator's own launcher-style parser, so `orchestrator emulate --help`
shows the launcher's flags and `orchestrator emulate --port 8080 --max-total-tokens 4096` means what it means to
`text-generation-launcher`. Heavy imports happen inside the command.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `emulate` command to `app`."""

    @app.command(
        "emulate",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
        add_help_option=False,
        help="Run the TGI 3.3.x emulator (GPU-less). Takes text-generation-launcher flags; see `emulate --help`.",
    )
    def emulate(ctx: typer.Context) -> None:
        from orchestrator.emulator.server import main

        raise typer.Exit(main(list(ctx.args)))
