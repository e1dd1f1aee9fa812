"""`orchestrator load`: run a Locust scenario against TGI or vLLM, print the figures, gate on SLOs.

Thin: parse options, call `orchestrator.load.runner` (which runs Locust in a subprocess: `import locust`
monkey-patches with gevent, which must not happen in the CLI process), render the summary it wrote. The load
options (`--rate`, `--slo ...`) are not written here: they are built from their one declaration,
`orchestrator.load.declaration`, which also gives them to Locust.
No `from __future__ import annotations`: typer must see the real `Annotated` options.
Exit codes (`orchestrator.load.outcome`): 0 done (SLO met or none set), 5 an SLO was missed, 7 the requests failed
(none succeeded, or more than --max-error-rate), 130 interrupted (the report of what finished is written), 2 bad
options or Locust could not run.
"""

import dataclasses
import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.cli.engine_choice import engine_given
from orchestrator.cli.options import exit_on_errors, make_console
from orchestrator.load.outcome import INTERRUPTED_EXIT_CODE

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.load.declaration import DeclaredOption
    from orchestrator.load.request import LoadRequest, LoadResult
    from orchestrator.load.sweep import SweepResult

__all__ = ["register"]


def _resolve_url(url: str | None, name: str | None, settings: "Settings") -> str:
    """--url as given; --name: the endpoint of that deployment (`orchestrator up`); else the settings' endpoint
    (`host.bind_address`, `host.port` from flags' defaults, ORCHESTRATOR_* variables, `.env`, TOML)."""
    from orchestrator.load.request import LoadError

    if url and name:
        raise LoadError("give either --url or --name, not both")
    if url:
        if not url.startswith(("http://", "https://")):
            raise LoadError(f"--url {url!r} must start with http:// or https://")
        return url.rstrip("/")
    if name:
        from orchestrator.deploy.lifecycle import find_deployment

        info = find_deployment(name)
        if info is None:
            raise LoadError(f"--name {name!r}: no such deployment; see `orchestrator status` or pass --url")
        return str(info.endpoint).rstrip("/")
    return settings.endpoint.rstrip("/")


def _resolve_compare(target: str) -> str:
    """--compare: a URL as given, else the endpoint of the deployment of that name."""
    from orchestrator.load.request import LoadError

    if target.startswith(("http://", "https://")):
        return target.rstrip("/")
    from orchestrator.deploy.lifecycle import find_deployment

    info = find_deployment(target)
    if info is None:
        raise LoadError(f"--compare {target!r}: no such deployment; see `orchestrator status` or pass a URL")
    return str(info.endpoint).rstrip("/")


def _load_settings() -> "Settings":
    """The settings as every other command reads them (ORCHESTRATOR_* variables, `./.env`, orchestrator.toml).
    Not validated against TGI's launch rules: load only needs the endpoint and the API key."""
    from orchestrator.config.loading import load_settings

    return load_settings(validate=False)


def _print_result(result: "LoadResult") -> None:
    """Tables and lines on stdout; text from the run (warnings, paths, errors) is printed as text, not markup."""
    from rich.markup import escape
    from rich.table import Table

    from orchestrator.load.table import (
        ab_rows,
        arrivals_line,
        figure_table,
        run_title,
        server_rows,
        workload_lines,
    )

    summary = result.summary
    console = make_console()
    table = Table(
        title=escape(run_title(summary)),
        caption="exact percentiles from every request; definitions in summary.json and docs/loadtest.md",
    )
    headers, rows = figure_table(summary)
    for column in headers:
        table.add_column(column, justify="left" if column == "figure" else "right")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)
    server = server_rows(summary)
    if server:
        stable = Table(title="Server side: /metrics after - before (tgi_request_*; ~p99 from buckets)")
        for column in ("histogram", "count", "mean", "~p99"):
            stable.add_column(column, justify="left" if column == "histogram" else "right")
        for srow in server:
            stable.add_row(*(escape(cell) for cell in srow))
        console.print(stable)
    ab = ab_rows(summary)
    if ab:
        atable = Table(
            title="A/B: B - A per percentile, 95 % bootstrap interval (beyond noise when it excludes 0)"
        )
        for column in ("figure", "A", "B", "B - A", "95 % interval", "verdict"):
            atable.add_column(column, justify="left" if column in ("figure", "verdict") else "right")
        for arow in ab:
            atable.add_row(*(escape(cell) for cell in arow))
        console.print(atable)
    errors = summary["figures"]["all"]["errors"]
    if errors:
        console.print(
            "errors by status:error_type: " + ", ".join(f"{k} x{v}" for k, v in errors.items()), markup=False
        )
    arrivals = arrivals_line(summary)
    if arrivals:
        console.print(arrivals, highlight=False, markup=False)
    for line in workload_lines(summary):
        console.print(line, highlight=False, markup=False)
    for warning in summary.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    console.print(f"reports: {result.request.report_dir}", highlight=False, markup=False)
    verdict = result.verdict
    style = "green" if result.slo_passed else "red"
    console.print(verdict, style=style, highlight=False, markup=False)
    _print_problems(console, result.problems)
    if result.interrupted or summary.get("interrupted"):
        console.print(
            "INTERRUPTED: the load was stopped early; the figures cover the requests that finished before the stop",
            style="bold yellow",
            highlight=False,
            markup=False,
        )


def _print_problems(console: Any, problems: list[str]) -> None:
    for problem in problems:
        console.print(f"REQUESTS FAILED: {problem}", style="bold red", highlight=False, markup=False)


def _print_sweep(sweep: "SweepResult") -> None:
    from rich.table import Table

    console = make_console()
    table = Table(title="Rate sweep (open loop)")
    for column in (
        "rate",
        "send req/s",
        "done req/s",
        "goodput req/s",
        "errors",
        "TTFT p99",
        "ITL p99",
        "e2e p99",
        "SLO",
    ):
        table.add_column(column, justify="right")

    def ms(v: Any) -> str:
        return "-" if v is None else f"{v * 1000:.1f} ms"

    for r in sweep.rows:
        verdict = "pass" if r["passed"] else ("FAIL" if r.get("requests_passed", True) else "FAIL: errors")
        table.add_row(
            f"{r['rate']:g}",
            f"{r['send_rate']:.2f}" if r["send_rate"] else "-",
            f"{r['request_rate']:.2f}",
            f"{r['goodput_requests_per_s']:.2f}",
            f"{r['error_rate']:.1%}",
            ms(r["ttft_p99"]),
            ms(r["itl_p99"]),
            ms(r["e2e_p99"]),
            verdict,
        )
    console.print(table)
    console.print(f"reports: {sweep.report_dir} (sweep.json, sweep.png)", highlight=False, markup=False)
    for r in sweep.rows:
        _print_problems(console, [f"at {r['rate']:g} req/s: {p}" for p in r.get("problems", [])])
    if sweep.interrupted:
        console.print("INTERRUPTED: the sweep was stopped early", style="bold yellow", markup=False)
    elif sweep.goodput_rate is None:
        console.print("[red]SLO FAIL: no rate of the sweep met the SLO[/red]")
    else:
        console.print(
            f"[green]goodput: {sweep.goodput_rate:g} req/s is the highest rate that met the SLO[/green]"
        )


def load(
    scenario: Annotated[str, typer.Option(help="generate | stream | chat | client | mix")] = "stream",
    users: Annotated[
        int, typer.Option(help="Concurrent users (closed loop) or the user pool (open loop).")
    ] = 8,
    duration: Annotated[
        str | None,
        typer.Option(
            help="Run time per run: 30s, 2m, 1h30m (default 30s; with --requests, none unless given)."
        ),
    ] = None,
    sweep: Annotated[
        str, typer.Option(help="Rates to sweep: 1,2,4 or START:STOP:STEP; stops at the first SLO miss.")
    ] = "",
    sweep_all: Annotated[bool, typer.Option(help="Sweep every rate even after an SLO miss.")] = False,
    processes: Annotated[int, typer.Option(help="Locust processes on this host (master + N workers).")] = 1,
    report_dir: Annotated[Path, typer.Option(help="Where summary.json, CSV, HTML and PNGs go.")] = Path(
        "load-report"
    ),
    url: Annotated[str | None, typer.Option(help="Server URL, e.g. http://127.0.0.1:8080.")] = None,
    name: Annotated[str | None, typer.Option(help="Container name whose published port to load.")] = None,
    compare: Annotated[
        str | None,
        typer.Option(
            help="A/B against this deployment name or URL: same prompts and schedule to both, one report "
            "(like --url-b, which takes a URL)."
        ),
    ] = None,
    master: Annotated[
        bool,
        typer.Option(
            "--master",
            help="Coordinate workers on other hosts (`--worker` there) instead of local processes.",
        ),
    ] = False,
    expect_workers: Annotated[
        int, typer.Option(help="Master: worker processes to wait for before the load starts.")
    ] = 1,
    master_bind: Annotated[
        str,
        typer.Option(
            help="Master: interface workers connect to; 0.0.0.0 for all. The port is unauthenticated: open it "
            "only to the worker hosts."
        ),
    ] = "127.0.0.1",
    master_port: Annotated[int, typer.Option(help="Master/worker: the master's TCP port (Locust's).")] = 5557,
    worker_wait: Annotated[float, typer.Option(help="Master: seconds to wait for the workers.")] = 120.0,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker",
            help="Serve a master on another host: target, options and schedule come from it (with --master-host; "
            "--processes N runs N worker processes here).",
        ),
    ] = False,
    master_host: Annotated[str | None, typer.Option(help="Worker: the master's host name or IP.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary JSON instead of tables.")
    ] = False,
    **options: Any,
) -> None:
    """Load-test TGI or vLLM (as the endpoint answers, or engine.kind) with Locust: exact TTFT/ITL/TPOT/e2e
    percentiles, open or closed loop, SLO gate, reports."""
    with exit_on_errors():
        from orchestrator.load.declaration import LoadArgs
        from orchestrator.load.distributed import Distributed
        from orchestrator.load.request import LoadError, LoadRequest, parse_duration

        args = LoadArgs.from_values(options)
        settings = _load_settings()
        if compare:
            if args.url_b:
                raise LoadError("give either --compare or --url-b, not both")
            args = dataclasses.replace(args, url_b=_resolve_compare(compare))
        if worker:
            if master or url or name or sweep:
                raise LoadError(
                    "--worker takes its target and options from the master: drop --master, --url, --name and "
                    "--sweep here (give them to `orchestrator load --master`)"
                )
            from orchestrator.load.runner import run_worker

            dist = Distributed("worker", master_port=master_port, master_host=master_host or "")
            code = run_worker(dist, processes=processes, api_key=settings.secrets.api_key_text())
            if code:
                raise typer.Exit(code)
            return
        if master and sweep:
            raise LoadError("--sweep with --master is not supported: run one --rate per master run")
        distributed = (
            Distributed(
                "master", master_port=master_port, expect_workers=expect_workers, bind=master_bind,
                wait_s=worker_wait,
            )
            if master
            else None
        )  # fmt: skip
        default_duration = None if args.requests or args.trace else DEFAULT_DURATION_S
        request = LoadRequest(
            url=_resolve_url(url, name, settings),
            scenario=scenario,
            users=users,
            duration_s=parse_duration(duration) if duration else default_duration,
            report_dir=report_dir,
            processes=processes,
            options=args,
            distributed=distributed,
            api_key=settings.secrets.api_key_text(),
            engine=engine_given(settings),
        )
        try:
            code = _run(request, sweep, sweep_all, as_json)
        except KeyboardInterrupt:  # outside a run (a Ctrl-C during one is handled by the runner: report, 130)
            print("Interrupted: no load ran to report on.", file=sys.stderr)
            code = INTERRUPTED_EXIT_CODE
    if code:
        raise typer.Exit(code)


def _option_parameter(option: "DeclaredOption") -> inspect.Parameter:
    """A declared load option as a typer parameter of `load` (same name, default and help as Locust's)."""
    kind: Any = option.kind
    default: Any = option.default
    if option.kind is tuple:
        kind, default = list[str] | None, None
    elif option.spec.path:
        kind, default = Path | None, None
    help_text = option.help.replace("[", "\\[")  # rich markup: `[slo]` is text
    annotation = Annotated[kind, typer.Option(help=help_text)]  # the flag: from the name, as Locust's
    return inspect.Parameter(
        option.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def _with_load_options(command: Any) -> Any:
    """`command`'s own parameters, then every load option that `orchestrator load` offers (the declaration's)."""
    from orchestrator.load.declaration import declared_options

    own = [p for p in inspect.signature(command).parameters.values() if p.kind is not p.VAR_KEYWORD]
    own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    extra = [_option_parameter(o) for o in declared_options() if o.spec.on_cli and not o.spec.internal]
    at = [p.name for p in own].index("name") + 1  # the load options after the run's, before --json
    command.__signature__ = inspect.Signature([*own[:at], *extra, *own[at:]], return_annotation=None)
    return command


DEFAULT_DURATION_S = 30.0


def _run(request: "LoadRequest", sweep: str, sweep_all: bool, as_json: bool) -> int:
    """One run or a sweep, printed; returns the exit code (`orchestrator.load.outcome`)."""
    import json

    from orchestrator.load.request import parse_rates
    from orchestrator.load.runner import run_load
    from orchestrator.load.sweep import run_sweep

    if sweep:
        result = run_sweep(request, parse_rates(sweep), keep_going=sweep_all)
        if as_json:
            print(json.dumps(result.to_dict(), indent=2))
        else:
            _print_sweep(result)
        return result.exit_code
    run = run_load(request)
    if as_json:
        print(json.dumps(run.summary, indent=2))
    else:
        _print_result(run)
    return run.command_exit_code


def register(app: typer.Typer) -> None:
    """Add `orchestrator load` to `app`."""
    app.command("load", no_args_is_help=False)(_with_load_options(load))
