"""Every load option is declared once (`orchestrator.load.declaration`): Locust's argparse options and
`orchestrator load`'s typer options are both built from it, and a value goes to Locust and back unchanged."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import typer

from orchestrator.cli import app
from orchestrator.load.declaration import LoadArgs, add_arguments, declared_options, to_argv
from orchestrator.load.options import LoadOptionError, LoadOptions


def _argparse_actions() -> dict[str, argparse.Action]:
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    return {action.option_strings[0]: action for action in parser._actions}


def _cli_params() -> dict[str, Any]:
    group: Any = typer.main.get_command(app)
    command = group.get_command(group.context_class(group), "load")
    return {param.opts[0]: param for param in command.params}


def test_locust_has_every_declared_option_with_its_default_and_help() -> None:
    actions = _argparse_actions()
    assert set(actions) == {o.flag for o in declared_options()}
    for option in declared_options():
        action = actions[option.flag]
        assert action.default == ([] if option.kind is tuple else option.default), option.flag
        if option.spec.internal:
            assert action.help == argparse.SUPPRESS
        else:
            assert action.help == option.help.replace("%", "%%")
        assert tuple(action.choices or ()) == option.spec.choices


def test_the_cli_has_the_declared_options_it_offers_with_the_same_default_and_help() -> None:
    params = _cli_params()
    offered = [o for o in declared_options() if o.spec.on_cli and not o.spec.internal]
    for option in offered:
        param = params[option.flag]
        assert param.name == option.name
        assert str(getattr(param, "help", "")).replace("\\[", "[") == option.help
        if option.kind is not tuple and not option.spec.path:
            assert param.default == option.default, option.flag
    # the rest are Locust's only, or set by `orchestrator load` itself
    not_offered = {o.flag for o in declared_options()} - {o.flag for o in offered}
    assert not_offered & set(params) == {"--report-dir"}  # the CLI's own, handed on as Locust's
    assert {"--late-after", "--token-check", "--tgi-run-time", "--slo-tpot-p99"} <= not_offered


def test_the_cli_help_lists_every_offered_option() -> None:
    from typer.testing import CliRunner

    text = CliRunner().invoke(app, ["load", "--help"], env={"COLUMNS": "200"}).output
    for option in declared_options():
        assert (option.flag in text) == (option.spec.on_cli and not option.spec.internal) or (
            option.flag == "--report-dir"
        ), option.flag


def test_defaults_render_as_no_words() -> None:
    assert to_argv(LoadArgs()) == []
    assert LoadArgs.from_argv([]) == LoadArgs()


def test_a_value_goes_to_locusts_words_and_back_unchanged() -> None:
    args = LoadArgs(
        requests=7,
        rate=0.1234567,
        arrival="poisson",
        shape="ramp:1,4,10",
        shared_prefix=True,
        slo=("ttft_p99=500ms", "error_rate=1%"),
        prompts_file="p.jsonl",
        tgi_run_time=2.5,
    )
    words = to_argv(args)
    assert words[words.index("--rate") + 1] == "0.1234567" and words.count("--slo") == 2
    assert "--shared-prefix" in words and list(args) == words
    assert LoadArgs.from_argv(words) == args


def test_named_gates_join_the_slo_items_and_win() -> None:
    args = LoadArgs.from_argv(["--slo", "ttft_p99=100", "--slo-ttft-p99", "200", "--slo-error-rate", "2%"])
    assert args.slo == ("ttft_p99=100", "ttft_p99=200", "error_rate=2%")
    assert args == LoadArgs.from_values(
        {"slo": ["ttft_p99=100"], "slo_ttft_p99": "200", "slo_error_rate": "2%"}
    )
    slo = LoadOptions.from_args(args).slo
    assert slo.latency == (("ttft", 99.0, 0.2),) and slo.error_rate == 0.02


def test_values_from_typer_take_text_numbers_and_paths() -> None:
    args = LoadArgs.from_values(
        {"rate": 3, "prompts_file": Path("a.jsonl"), "slo": None, "shared_prefix": False}
    )
    assert (args.rate, args.prompts_file, args.slo, args.shared_prefix) == (3.0, "a.jsonl", (), False)
    assert {f.name for f in fields(LoadArgs)} == {o.name for o in declared_options() if o.gate is None}


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["--arrival", "burst"], "invalid choice"),
        (["--rate", "fast"], "invalid float value"),
        (["--no-such-option"], "unknown load options"),
    ],
)
def test_bad_words_are_named(words: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LoadArgs.from_argv(words)


def test_a_choice_is_checked_without_argparse_too() -> None:
    with pytest.raises(LoadOptionError, match="--arrival 'burst' is not one of constant, poisson"):
        LoadOptions.from_args(LoadArgs(arrival="burst"))


def test_the_docs_options_table_names_every_option() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "loadtest.md").read_text(encoding="utf-8")
    table = docs.split("### Options\n", 1)[1].strip().split("\n\n", 1)[0]
    cli_own = ("--users", "--duration", "--sweep", "--processes", "--report-dir")
    named = [f"`{flag}" for flag in cli_own]
    named += [f"`{o.flag}" for o in declared_options() if not o.spec.internal and o.gate is None]
    missing = [flag for flag in named if flag not in table]
    assert not missing, f"docs/loadtest.md's options table lacks {missing}"
    offered_gates = [o.flag for o in declared_options() if o.gate and o.spec.on_cli]
    assert [flag for flag in offered_gates if f"`{flag}" not in docs] == [], (
        "a named SLO gate is not in the docs"
    )
