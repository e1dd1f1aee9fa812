"""`orchestrator load`: run a Locust scenario against TGI, print the figures, gate on SLOs.

Thin: parse options, call `orchestrator.load.runner` (which runs Locust in a subprocess: `import locust`
monkey-patches with gevent, which must not happen in the CLI process), render the summary it wrote.
No `from __future__ import annotations`: typer must see the real `Annotated` options.
Exit codes (`orchestrator.load.outcome`): 0 done (SLO met or none set), 5 an SLO was missed, 7 the requests failed
(none succeeded, or more than --max-error-rate), 130 interrupted (the report of what finished is written), 2 bad
options or Locust could not run.
"""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.cli.options import exit_on_errors
from orchestrator.load.outcome import DEFAULT_MAX_ERROR_RATE, INTERRUPTED_EXIT_CODE

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.load.runner import LoadRequest, LoadResult
    from orchestrator.load.sweep import SweepResult

__all__ = ["register"]


def _resolve_url(url: str | None, name: str | None, settings: "Settings") -> str:
    """--url as given; --name: the endpoint of that deployment (`orchestrator up`); else the settings' endpoint
    (`host.bind_address`, `host.port` from flags' defaults, ORCHESTRATOR_* variables, `.env`, TOML)."""
    from orchestrator.load.runner import LoadError

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


def _load_settings() -> "Settings":
    """The settings as every other command reads them (ORCHESTRATOR_* variables, `./.env`, orchestrator.toml).
    Not validated against TGI's launch rules: load only needs the endpoint and the API key."""
    from orchestrator.config.loading import load_settings

    return load_settings(validate=False)


def _print_result(result: "LoadResult") -> None:
    """Tables and lines on stdout; text from the run (warnings, paths, errors) is printed as text, not markup."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from orchestrator.load.table import arrivals_line, figure_table, run_title, server_rows

    summary = result.summary
    console = Console(soft_wrap=True)
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
    errors = summary["figures"]["all"]["errors"]
    if errors:
        console.print(
            "errors by status:error_type: " + ", ".join(f"{k} x{v}" for k, v in errors.items()), markup=False
        )
    arrivals = arrivals_line(summary)
    if arrivals:
        console.print(arrivals, highlight=False, markup=False)
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
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=True)
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
    requests: Annotated[
        int,
        typer.Option(
            help="Stop once N requests have completed (answered or failed); with --duration, whichever first."
        ),
    ] = 0,
    max_error_rate: Annotated[
        float,
        typer.Option(
            help="Fail the run (exit 7) when more than this share of requests failed; 1 allows any. "
            "No successful request always fails."
        ),
    ] = DEFAULT_MAX_ERROR_RATE,
    rate: Annotated[
        float, typer.Option(help="Open loop: requests/s over all processes (0 = closed loop).")
    ] = 0.0,
    arrival: Annotated[str, typer.Option(help="Open-loop arrivals: constant | poisson.")] = "constant",
    max_lateness: Annotated[float, typer.Option(help="Open loop: drop a send later than this (s).")] = 1.0,
    shape: Annotated[
        str, typer.Option(help="step:S,STEP,EVERY_S,MAX | ramp:FROM,TO,OVER_S | spike:B,P,AT_S,FOR_S")
    ] = "",
    sweep: Annotated[
        str, typer.Option(help="Rates to sweep: 1,2,4 or START:STOP:STEP; stops at the first SLO miss.")
    ] = "",
    sweep_all: Annotated[bool, typer.Option(help="Sweep every rate even after an SLO miss.")] = False,
    input_tokens: Annotated[
        str, typer.Option(help="Prompt tokens: 256 | uniform:64,512 | normal:200,50,16,1000.")
    ] = "fixed:256",
    output_tokens: Annotated[str, typer.Option(help="max_new_tokens, same syntax.")] = "fixed:128",
    prompts_file: Annotated[Path | None, typer.Option(help="JSONL of {prompt} or {messages} lines.")] = None,
    shared_prefix: Annotated[
        bool, typer.Option(help="Same prefix every request (study prefix caching).")
    ] = False,
    slo: Annotated[
        list[str] | None, typer.Option(help="Gate KEY=VALUE, repeatable: ttft_p99=500ms, error_rate=1%.")
    ] = None,
    slo_ttft_p50: Annotated[str, typer.Option(help="Gate: TTFT p50 (ms).")] = "",
    slo_ttft_p99: Annotated[str, typer.Option(help="Gate: TTFT p99 (ms).")] = "",
    slo_itl_p50: Annotated[str, typer.Option(help="Gate: ITL p50 (ms).")] = "",
    slo_itl_p99: Annotated[str, typer.Option(help="Gate: ITL p99 (ms).")] = "",
    slo_e2e_p50: Annotated[str, typer.Option(help="Gate: e2e p50 (ms).")] = "",
    slo_e2e_p99: Annotated[str, typer.Option(help="Gate: e2e p99 (ms).")] = "",
    slo_error_rate: Annotated[str, typer.Option(help="Gate: error rate (0.01 or 1%).")] = "",
    slo_file: Annotated[Path | None, typer.Option(help="TOML/JSON file with an \\[slo] table.")] = None,
    processes: Annotated[int, typer.Option(help="Locust processes on this host (master + N workers).")] = 1,
    report_dir: Annotated[Path, typer.Option(help="Where summary.json, CSV, HTML and PNGs go.")] = Path(
        "load-report"
    ),
    url: Annotated[str | None, typer.Option(help="Server URL, e.g. http://127.0.0.1:8080.")] = None,
    name: Annotated[str | None, typer.Option(help="Container name whose published port to load.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for lengths and Poisson arrivals (0 = random).")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary JSON instead of tables.")
    ] = False,
) -> None:
    """Load-test TGI with Locust: exact TTFT/ITL/TPOT/e2e percentiles, open or closed loop, SLO gate, reports."""
    words = ["--input-tokens", input_tokens, "--output-tokens", output_tokens, "--arrival", arrival,
             "--max-lateness", f"{max_lateness:g}", "--seed", str(seed), "--requests", str(requests),
             "--max-error-rate", f"{max_error_rate:g}"]  # fmt: skip
    if rate:
        words += ["--rate", f"{rate:g}"]
    if shape:
        words += ["--shape", shape]
    if prompts_file:
        words += ["--prompts-file", str(prompts_file)]
    if shared_prefix:
        words.append("--shared-prefix")
    if slo_file:
        words += ["--slo-file", str(slo_file)]
    for item in slo or []:
        words += ["--slo", item]
    named = {"ttft_p50": slo_ttft_p50, "ttft_p99": slo_ttft_p99, "itl_p50": slo_itl_p50,
             "itl_p99": slo_itl_p99, "e2e_p50": slo_e2e_p50, "e2e_p99": slo_e2e_p99,
             "error_rate": slo_error_rate}  # fmt: skip
    words += [w for key, value in named.items() if value for w in ("--slo", f"{key}={value}")]
    with exit_on_errors():
        from orchestrator.load.runner import LoadRequest, parse_duration

        settings = _load_settings()
        request = LoadRequest(
            url=_resolve_url(url, name, settings),
            scenario=scenario,
            users=users,
            duration_s=parse_duration(duration) if duration else (None if requests else DEFAULT_DURATION_S),
            report_dir=report_dir,
            processes=processes,
            options=tuple(words),
            api_key=settings.secrets.api_key_text(),
        )
        try:
            code = _run(request, sweep, sweep_all, as_json)
        except KeyboardInterrupt:  # outside a run (a Ctrl-C during one is handled by the runner: report, 130)
            print("Interrupted: no load ran to report on.", file=sys.stderr)
            code = INTERRUPTED_EXIT_CODE
    if code:
        raise typer.Exit(code)


DEFAULT_DURATION_S = 30.0


def _run(request: "LoadRequest", sweep: str, sweep_all: bool, as_json: bool) -> int:
    """One run or a sweep, printed; returns the exit code (`orchestrator.load.outcome`)."""
    import json

    from orchestrator.load.runner import parse_rates, run_load
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
    app.command("load", no_args_is_help=False)(load)
