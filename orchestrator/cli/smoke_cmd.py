"""`orchestrator smoke`: parse flags, call `orchestrator.smoke.target.smoke`, print a table or JSON, write JUnit.

Exit codes: 0 every check passed (skips allowed), 1 a check failed, 2 bad settings, 3 no engine, 4 deployment failed.
No `from __future__ import annotations` here: typer must see real `Annotated` types through `settings_command`.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.cli.engine_choice import engine_given
from orchestrator.cli.options import exit_on_errors, make_console, settings_command

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.smoke.results import SmokeReport

SMOKE_FAILED_EXIT = 1
INTERRUPTED_EXIT = 130


def register(app: typer.Typer) -> None:
    """Add `smoke` to `app`."""
    app.command(name="smoke")(smoke_command)


@settings_command
def smoke_command(
    settings: "Settings",
    url: Annotated[
        str | None, typer.Option("--url", help="Endpoint to check (default: the settings' endpoint).")
    ] = None,
    expect_model: Annotated[
        str | None, typer.Option("--expect-model", help="Model id /info must report (default: model.id).")
    ] = None,
    expect_max_input_tokens: Annotated[
        int | None,
        typer.Option(
            "--expect-max-input-tokens",
            min=1,
            metavar="N",
            help="max_input_tokens /info must report (default: limits.max_input_tokens).",
        ),
    ] = None,
    expect_max_total_tokens: Annotated[
        int | None,
        typer.Option(
            "--expect-max-total-tokens",
            min=1,
            metavar="N",
            help="max_total_tokens /info must report (default: limits.max_total_tokens).",
        ),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            metavar="VAR",
            help="Environment variable holding the API key (default: secrets.api_key). Enables the 401 check.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of a table.")
    ] = False,
    junit_xml: Annotated[
        Path | None, typer.Option("--junit-xml", metavar="FILE", help="Also write a JUnit XML report.")
    ] = None,
    up: Annotated[
        bool,
        typer.Option(
            "--up",
            help="Bring a deployment up first and take it down afterwards (one already running is left running).",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds each request or stream may take.")
    ] = 30.0,
) -> None:
    """Check a TGI or vLLM endpoint: health, /info (vLLM: /version, /v1/models), generate (vLLM: /v1/completions),
    stream, chat (both modes), 422 (vLLM: 400) on over-long prompts, 401 without the API key, metrics. The engine's
    checks run: engine.kind when set, else what the endpoint answers as. For CI: --json, --junit-xml FILE (vLLM's
    checks named orchestrator-smoke.vllm), exit code 0 only when all pass."""
    from orchestrator.smoke.target import api_key_from, expectations_from, smoke

    named = settings.source_of("host.container_name").startswith("flag")
    if url is not None and (named or up):
        with exit_on_errors():
            _conflict("--url", "--name/--up" if named and up else ("--name" if named else "--up"))
    with exit_on_errors(), _interrupt_exits(up):
        report = smoke(
            settings,
            url=url,
            name=settings.host.container_name if named else None,
            up=up,
            expect=expectations_from(
                settings,
                model_id=expect_model,
                max_input_tokens=expect_max_input_tokens,
                max_total_tokens=expect_max_total_tokens,
            ),
            api_key=api_key_from(settings, api_key_env),
            timeout=timeout,
            progress=_print_progress,
            engine=engine_given(settings),
        )
    if as_json:
        from orchestrator.smoke.render import to_json_data

        typer.echo(json.dumps(to_json_data(report), indent=2))
    else:
        _print_table(report)
    if junit_xml is not None:  # after the report: an unwritable path must not hide the results
        with exit_on_errors():
            _write_junit(report, junit_xml)
    if not report.ok:
        raise typer.Exit(code=SMOKE_FAILED_EXIT)


def _print_progress(event: Any) -> None:
    """`--up` start-up milestones on stderr, so stdout stays the table or the JSON document."""
    if event.kind in {"phase", "ready", "failed", "info"}:
        message = f": {event.message}" if event.message else ""
        typer.echo(f"[up {event.elapsed:6.1f} s] {event.phase.value}{message}", err=True)


@contextmanager
def _interrupt_exits(up: bool) -> Iterator[None]:
    """Ctrl-C: say what was left (`deploy.up` tells via `UpInterrupted.left`; a deployment this run created is
    taken down by then) and exit 130, not with a traceback."""
    try:
        yield
    except KeyboardInterrupt as exc:
        left = getattr(exc, "left", None) or (
            "checks stopped; a deployment this run created was taken down, one already running was left running"
            if up
            else "checks stopped"
        )
        typer.echo(f"Interrupted: {left}.", err=True)
        raise typer.Exit(code=INTERRUPTED_EXIT) from None


def _write_junit(report: "SmokeReport", path: Path) -> None:
    """Write the JUnit file; a path that cannot be written is a bad flag (exit 2), named as such."""
    from orchestrator.errors import ConfigError, ConfigProblem
    from orchestrator.smoke.junit import write_junit_xml

    try:
        write_junit_xml(report, path)
    except OSError as exc:
        raise ConfigError(
            [
                ConfigProblem(
                    "--junit-xml",
                    "flag --junit-xml",
                    str(path),
                    f"cannot be written ({exc.strerror or exc})",
                    "pass a path in a writable directory (missing parent directories are created)",
                )
            ]
        ) from None


def _conflict(first: str, second: str) -> None:
    from orchestrator.errors import ConfigError, ConfigProblem

    raise ConfigError(
        [
            ConfigProblem(
                first, f"flag {first}", "given", f"cannot be combined with {second}", "pass only one of them"
            )
        ]
    )


def _print_table(report: "SmokeReport") -> None:
    from rich.markup import escape
    from rich.table import Table

    from orchestrator.smoke.render import summary_line, table_rows

    # Details quote server answers and user input ("[/INST]", a model id): escaped, so rich prints them as text.
    colour = {"PASS": "green", "FAIL": "bold red", "SKIP": "yellow"}
    table = Table(title=f"orchestrator smoke: {escape(report.url)}", title_justify="left")
    for column, kwargs in (("Result", {}), ("Check", {}), ("Time", {"justify": "right"}), ("Detail", {})):
        table.add_column(column, **kwargs)  # type: ignore[arg-type]
    for status, title, took, detail in table_rows(report):
        table.add_row(f"[{colour[status]}]{status}[/]", escape(title), took, escape(detail))
    console = make_console()
    console.print(table)
    console.print(
        summary_line(report), style="green" if report.ok else "bold red", highlight=False, markup=False
    )
