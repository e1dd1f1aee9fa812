"""`orchestrator compose render`: write the Compose file from the settings (parse, call `compose_render`, print).

`--check` exits 1 when the file on disk differs from what the settings give (for CI and pre-commit).
"""

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.cli.options import exit_on_errors, settings_command

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings

# No `from __future__ import annotations` here: typer must see real `Annotated` types through `settings_command`.

compose_app = typer.Typer(
    name="compose",
    help="Docker Compose set-up generated from the settings (TGI on GPU, emulator, monitoring profiles).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the `compose` group to `app`."""
    app.add_typer(compose_app)


@compose_app.command("render")
@settings_command
def render_command(
    settings: "Settings",
    output: Annotated[
        Path, typer.Option("--output", "-o", help="File to write (parent directories are created).")
    ] = Path("compose/docker-compose.yml"),
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the file differs from the rendering.")
    ] = False,
    stdout: Annotated[bool, typer.Option("--stdout", help="Print the file instead of writing it.")] = False,
) -> None:
    """Render the Compose file from the settings; values with an ORCHESTRATOR_* variable stay overridable."""
    from orchestrator.launch.compose import render_compose, write_compose

    text = render_compose(settings)
    if stdout:
        typer.echo(text, nl=False)
        return
    if check:
        with exit_on_errors():
            current = _read_current(output)
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True), text.splitlines(keepends=True), str(output), "rendered"
            )
            typer.echo("".join(diff), err=True)
            typer.echo(f"{output} is out of date: run `orchestrator compose render -o {output}`", err=True)
            raise typer.Exit(code=1)
        typer.echo(f"{output} is up to date")
        return
    with exit_on_errors():
        try:
            written = write_compose(settings, output)
        except OSError as exc:
            raise _output_problem(output, f"cannot be written ({exc.strerror or exc})") from None
    typer.echo(f"wrote {written}")


def _read_current(output: Path) -> str:
    """The file `--check` compares with; a missing file reads as empty (it differs from any rendering)."""
    if not output.exists():
        return ""
    try:
        return output.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _output_problem(output, f"cannot be read ({getattr(exc, 'strerror', None) or exc})") from None


def _output_problem(output: Path, rule: str) -> Exception:
    from orchestrator.errors import ConfigError, ConfigProblem

    return ConfigError(
        [ConfigProblem("--output", "flag --output", str(output), rule, "pass a writable file path with -o")]
    )
