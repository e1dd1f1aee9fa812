"""`orchestrator emulate [--engine vllm] [engine arguments]`: run the emulator in the foreground, as our model.

The arguments go to the emulator's own launcher-style parser, so `orchestrator emulate --port 8080` means what it
means to `text-generation-launcher`, with one difference: where neither a flag nor its env var says otherwise, the
emulator serves this project's model with its default settings (`--model-id`, `--quantize` and the token limits),
so `orchestrator smoke` against it passes as it does against `orchestrator up`. `python -m orchestrator.emulator`
keeps TGI's own launcher defaults. `--engine vllm` (first) takes `vllm serve`'s arguments instead and adds this
project's model as the positional model when none is given. Heavy imports happen inside the command.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping, Sequence

import typer

__all__ = ["register", "with_project_defaults", "with_vllm_project_defaults"]

_LIMIT_FLAGS = ("max-input-tokens", "max-input-length", "max-total-tokens", "max-batch-prefill-tokens")

DEFAULTS_HELP = (
    "orchestrator emulate serves this project's model unless told otherwise: where neither the flag nor its env "
    "var is given it adds --model-id {model} --quantize {quantize}, and, when none of --max-input-tokens, "
    "--max-input-length, --max-total-tokens, --max-batch-prefill-tokens is given, --max-input-tokens {input} "
    "--max-total-tokens {total} --max-batch-prefill-tokens {prefill} (the settings' defaults, as `orchestrator "
    "up` uses them). `python -m orchestrator.emulator` keeps TGI's own launcher defaults."
)


def _project_defaults() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(model flags, limit flags) with the values `orchestrator up` passes by default."""
    from orchestrator.config.settings import ModelSettings, TokenLimits

    model, limits = ModelSettings(), TokenLimits()
    model_flags = [("model-id", model.id)] + ([("quantize", model.quantize)] if model.quantize else [])
    limit_flags = [
        ("max-input-tokens", str(limits.max_input_tokens)),
        ("max-total-tokens", str(limits.max_total_tokens)),
        ("max-batch-prefill-tokens", str(limits.max_batch_prefill_tokens)),
    ]
    return model_flags, limit_flags


def _given(name: str, argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether `--name` is on the command line (`--name V` or `--name=V`) or its launcher env var is set."""
    from orchestrator.emulator.tgi.flags import LAUNCHER_FLAGS

    env = next((flag.env for flag in LAUNCHER_FLAGS if flag.long == name), None)
    on_line = any(word == f"--{name}" or word.startswith(f"--{name}=") for word in argv)
    return on_line or (env is not None and env in environ)


def with_project_defaults(argv: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """`argv` with this project's model and limits added where neither a flag nor its env var sets them.

    The limits go together (one given: none added), since TGI derives the others from it and a mix could break
    its rules (input < total <= prefill budget).
    """
    model_flags, limit_flags = _project_defaults()
    added = [f"--{name}={value}" for name, value in model_flags if not _given(name, argv, environ)]
    if not any(_given(name, argv, environ) for name in _LIMIT_FLAGS):
        added += [f"--{name}={value}" for name, value in limit_flags]
    return [*added, *argv]


def with_vllm_project_defaults(argv: Sequence[str]) -> list[str]:
    """`vllm serve` arguments with this project's model in front when neither a positional model nor `--model`
    is given (vLLM's own default would be another model); arguments vLLM refuses pass through, for it to refuse."""
    from orchestrator.config.settings import ModelSettings
    from orchestrator.emulator.vllm.cli import ParseExit, parse_serve

    words = list(argv)
    if "-h" in words or "--help" in words:
        return words
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # the emulator itself reports what it refuses
            namespace = parse_serve(["serve", *words], environ={})
    except ParseExit:
        return words
    if namespace.model_tag is None and namespace.model is None:
        return [ModelSettings().id, *words]
    return words


def _defaults_help() -> str:
    model_flags, limit_flags = _project_defaults()
    values = dict(model_flags + limit_flags)
    return DEFAULTS_HELP.format(
        model=values["model-id"],
        quantize=values.get("quantize", "-"),
        input=values["max-input-tokens"],
        total=values["max-total-tokens"],
        prefill=values["max-batch-prefill-tokens"],
    )


def register(app: typer.Typer) -> None:
    """Add the `emulate` command to `app`."""

    @app.command(
        "emulate",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
        add_help_option=False,
        help="Run the TGI 3.3.x emulator (GPU-less) serving this project's model by default. Takes "
        "text-generation-launcher flags; see `emulate --help`. `emulate --engine vllm [vllm serve arguments]` "
        "emulates vLLM 0.33.0 instead; see `emulate --engine vllm --help`.",
    )
    def emulate(ctx: typer.Context) -> None:
        from orchestrator.emulator import split_engine

        engine, args = split_engine(list(ctx.args))
        if engine == "vllm":
            from orchestrator.emulator.vllm.server import main as vllm_main

            raise typer.Exit(vllm_main(["serve", *with_vllm_project_defaults(args)]))
        if engine != "tgi":
            typer.echo(f"Error: --engine {engine!r} is not emulated; choose tgi or vllm.", err=True)
            raise typer.Exit(2)
        from orchestrator.emulator.tgi.server import main

        if "--help" in args or "-h" in args:
            typer.echo(_defaults_help() + "\n")
        raise typer.Exit(main(with_project_defaults(args, os.environ)))
