"""Every load-test option, declared once: its name, type, default, help and where it appears.

`LoadArgs` is the declaration: one field per option, its metadata (`Spec`) saying the help, the choices, whether
`orchestrator load` offers it too (`on_cli`) and whether only our own processes set it (`internal`). The named SLO
gates (`--slo-ttft-p50 200`, ...) are declared in `SLO_GATES`; their values join `slo` as `KEY=VALUE`. From this:

- `add_arguments` adds the options to Locust's argparse parser (its `init_command_line_parser` hook);
- `orchestrator load` builds its typer parameters from `declared_options()` (`orchestrator/cli/load_cmd.py`);
- `LoadArgs.from_values` takes what either parser produced; `to_argv` renders a value back into the words Locust
  is started with, and Locust's parser (the same declaration) reads them.

Plain values only (text as typed): `orchestrator.load.options.LoadOptions.from_args` checks them.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints

from orchestrator.load.outcome import DEFAULT_MAX_ERROR_RATE

__all__ = [
    "SLO_GATES",
    "DeclaredOption",
    "LoadArgs",
    "add_arguments",
    "declared_options",
    "to_argv",
]

PARSER_GROUP = "TGI load test (orchestrator)"

SLO_GATES: tuple[tuple[str, bool], ...] = (
    *(
        (f"{f}_p{q}", q in (50, 99) and f != "tpot")
        for f in ("ttft", "itl", "tpot", "e2e")
        for q in (50, 90, 95, 99)
    ),
    ("error_rate", True),
)
"""The gates with their own option (`--slo-ttft-p50 200`), and whether `orchestrator load` offers it too; any
other gate goes through `--slo KEY=VALUE`."""


@dataclass(frozen=True)
class Spec:
    """What an option's field says besides its type and default."""

    help: str
    choices: tuple[str, ...] = ()
    on_cli: bool = True
    """`orchestrator load` has it too (Locust has every option)"""
    internal: bool = False
    """set by `orchestrator load` and by the master for its workers, not by users: hidden from help"""
    path: bool = False
    """a file's path (shown as one on `orchestrator load`)"""


def _option(default: Any, help: str, **spec: Any) -> Any:
    return field(default=default, metadata={"spec": Spec(help, **spec)})


@dataclass(frozen=True)
class LoadArgs:
    """The load-test options as given (text, numbers, flags), before they are checked.

    Iterating gives the Locust command-line words (`to_argv`)."""

    requests: int = _option(
        0,
        "Stop once N requests have completed (answered or failed; 0 = no limit); with a run time, whichever "
        "comes first.",
    )
    max_error_rate: float = _option(
        DEFAULT_MAX_ERROR_RATE,
        "Fail the run (exit 7) when more than this share of completed requests failed; 1 allows any. "
        "A run with no successful request always fails.",
    )
    url_b: str = _option(
        "",
        "A/B: a second server; the same prompts and schedule go to both (--users per server), one report "
        "compares them.",
    )
    rate: float = _option(0.0, "Open loop: requests/s over all processes (0 = closed loop).")
    arrival: str = _option("constant", "Open-loop arrivals", choices=("constant", "poisson"))
    max_lateness: float = _option(1.0, "Open loop: drop a send later than this (s).")
    late_after: float = _option(0.010, "Open loop: count a send later than this (s) as late.", on_cli=False)
    shape: str = _option("", "step:START,STEP,EVERY_S,MAX | ramp:FROM,TO,OVER_S | spike:BASE,PEAK,AT_S,FOR_S")
    input_tokens: str = _option("fixed:256", "Prompt tokens: 256 | uniform:64,512 | normal:200,50,16,1000.")
    output_tokens: str = _option("fixed:128", "max_new_tokens, same syntax as --input-tokens.")
    prompts_file: str = _option(
        "", "JSONL of {prompt} or {messages} lines, optional max_new_tokens.", path=True
    )
    shared_prefix: bool = _option(False, "Same prefix every request (study prefix caching).")
    dataset: str = _option(
        "",
        "JSONL dataset: {prompt}, {messages} or ShareGPT {conversations} lines (docs/loadtest.md).",
        path=True,
    )
    output_from: str = _option(
        "file",
        "Output lengths of --dataset rows: the file's (else --output-tokens), or always the flags",
        choices=("file", "flags"),
    )
    shared_prefix_tokens: int = _option(
        0, "Every prompt starts with one of --prefix-groups prefixes of K tokens."
    )
    prefix_groups: int = _option(1, "Distinct prefixes of --shared-prefix-tokens (= requests: none shared).")
    turns: int = _option(
        1, "Multi-turn sessions: turns per conversation, each sending the real replies back."
    )
    think_time: float = _option(0.0, "Sessions: seconds a user waits between turns.")
    trace: str = _option(
        "",
        "JSONL trace: {offset or timestamp, input_tokens, output_tokens} or prompts, sent open loop.",
        path=True,
    )
    time_scale: float = _option(1.0, "--trace offsets times this (0.5 replays twice as fast).")
    slo: tuple[str, ...] = _option((), "Gate KEY=VALUE, repeatable: ttft_p99=500ms, error_rate=1%.")
    slo_file: str = _option("", "TOML/JSON file with an [slo] table.", path=True)
    seed: int = _option(0, "Seed for lengths and Poisson arrivals (0 = random).")
    token_check: int = _option(
        200, "Texts per process re-counted with the tokenizer (0 = off).", on_cli=False
    )
    request_timeout: float = _option(300.0, "Longest a request may take (s).", on_cli=False)
    scenario_label: str = _option("", "Free text stored in the summary.", on_cli=False)
    report_dir: str = _option(
        "", "Write summary.json, samples.jsonl and PNG plots here.", on_cli=False, path=True
    )  # `orchestrator load` has its own --report-dir (with a default), handed on as this one
    tgi_run_time: float = _option(0.0, "exact run time (s); Locust's -t takes whole seconds", internal=True)
    tgi_epoch: float = _option(0.0, "the window's start (wall clock), from the master", internal=True)
    tgi_processes: int = _option(0, "how many worker processes, from the master", internal=True)
    tgi_engine: str = _option("", "the engine of --host (tgi, vllm), from orchestrator load", internal=True)
    tgi_engine_b: str = _option("", "the engine of --url-b, from orchestrator load", internal=True)
    tgi_max_input_tokens: int = _option(0, "the server's input limit, from the master's /info", internal=True)
    tgi_max_total_tokens: int = _option(
        0, "the server's total-token limit, from the master's /info", internal=True
    )

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> LoadArgs:
        """From a parser's values by option name (argparse's namespace, typer's keywords); missing ones take
        their default, the named SLO gates join `slo` (after the `--slo` items, so they win)."""
        given: dict[str, Any] = {}
        for option in declared_options():
            value = values.get(option.name)
            if value is None or option.gate:
                continue
            given[option.name] = tuple(str(v) for v in value) if option.kind is tuple else option.kind(value)
        gates = [f"{o.gate}={values[o.name]}" for o in declared_options() if o.gate and values.get(o.name)]
        given["slo"] = (*given.get("slo", ()), *gates)
        return cls(**given)

    @classmethod
    def from_argv(cls, words: Iterable[str]) -> LoadArgs:
        """From command-line words, read by the parser Locust uses; raises `ValueError` naming a bad one."""
        parser = argparse.ArgumentParser(prog="orchestrator load", add_help=False, exit_on_error=False)
        add_arguments(parser)
        try:
            ns, rest = parser.parse_known_args(list(words))
        except (argparse.ArgumentError, SystemExit) as exc:
            raise ValueError(f"invalid load option: {exc}") from None
        if rest:
            raise ValueError(f"unknown load options {rest}")
        return cls.from_values(vars(ns))

    def __iter__(self) -> Iterator[str]:
        return iter(to_argv(self))


@dataclass(frozen=True)
class DeclaredOption:
    """One option as both parsers build it."""

    name: str
    """the Python name (`input_tokens`); the flag is `--input-tokens`"""
    kind: type
    """str, int, float, bool (a flag) or tuple (repeatable text)"""
    default: Any
    spec: Spec
    gate: str | None = None
    """a named SLO gate: the SLO key its value goes to"""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def help(self) -> str:
        choices = " | ".join(self.spec.choices)
        return f"{self.spec.help}: {choices}." if choices else self.spec.help


def _gate(key: str, on_cli: bool) -> DeclaredOption:
    unit = "0.01 or 1%" if key == "error_rate" else "ms"
    figure, _, q = key.partition("_")
    what = "error rate" if key == "error_rate" else f"{figure.upper() if figure != 'e2e' else figure} {q}"
    return DeclaredOption(f"slo_{key}", str, "", Spec(f"Gate: {what} ({unit}).", on_cli=on_cli), gate=key)


def declared_options() -> tuple[DeclaredOption, ...]:
    """Every option, in the order help lists them (the named gates after `--slo`)."""
    return _DECLARED


def _declare() -> tuple[DeclaredOption, ...]:
    hints = get_type_hints(LoadArgs)
    out: list[DeclaredOption] = []
    for f in fields(LoadArgs):
        kind = hints[f.name]
        out.append(
            DeclaredOption(f.name, tuple if kind == tuple[str, ...] else kind, f.default, f.metadata["spec"])
        )
        if f.name == "slo":
            out += [_gate(key, on_cli) for key, on_cli in SLO_GATES]
    return tuple(out)


_DECLARED = _declare()


def add_arguments(parser: Any) -> None:
    """Add every option to an argparse-compatible parser (Locust's configargparse one)."""
    group = parser.add_argument_group(PARSER_GROUP)
    for option in declared_options():
        text = argparse.SUPPRESS if option.spec.internal else option.help.replace("%", "%%")
        if option.kind is bool:
            group.add_argument(option.flag, action="store_true", default=option.default, help=text)
        elif option.kind is tuple:
            group.add_argument(option.flag, action="append", default=[], help=text)
        else:
            choices = list(option.spec.choices) or None
            kind = None if option.kind is str else option.kind
            group.add_argument(option.flag, type=kind, default=option.default, choices=choices, help=text)


def _word(value: Any) -> str:
    """A number as short as it stays exact (`3`, not `3.0`; every digit of `0.1234567`)."""
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)


def to_argv(args: LoadArgs) -> list[str]:
    """The words that give `args` to Locust's parser: every option that differs from its default."""
    words: list[str] = []
    for option in declared_options():
        if option.gate:
            continue  # already among `slo`
        value = getattr(args, option.name)
        if value == option.default:
            continue
        if option.kind is bool:
            words.append(option.flag)
        elif option.kind is tuple:
            words += [w for item in value for w in (option.flag, item)]
        else:
            words += [option.flag, _word(value)]
    return words
