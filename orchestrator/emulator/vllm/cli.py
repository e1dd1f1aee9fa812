"""`vllm serve MODEL [flags]` parsed as vLLM 0.33.0 parses it: stdlib argparse with subcommands [vllm-server.md §2].

`_` and `-` are interchangeable in flag names; booleans take `--x/--no-x` (and `--disable-x` for `--enable-x`);
`--max-model-len` and `--max-num-batched-tokens` accept `1k` (1000), `1K` (1024), `25.6k`. An unknown flag (such as
the removed `--swap-space`) is reported by the top-level parser: `vllm: error: unrecognized arguments: ...`, exit 2;
a bad value inside `serve` by the serve parser (`vllm serve: error: argument --dtype: invalid choice ...`), exit 2.
Emulator-only knobs (`--emulator-*`, env `EMULATOR_*`) are the core's table, as the TGI personality takes them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.emulator.core.knobs import KNOBS, Knob

__all__ = ["VERSION", "ParseExit", "build_parser", "human_readable_int", "parse_serve"]

VERSION = "0.33.0"
DEFAULT_MODEL = "Qwen/Qwen3-0.6B"
_SUBCOMMANDS = ("chat", "complete", "serve", "bench", "collect-env", "run-batch")
_DTYPES = ("auto", "bfloat16", "float", "float16", "float32", "half")
_MULT = {"k": 1000, "m": 1000**2, "g": 1000**3, "K": 1024, "M": 1024**2, "G": 1024**3}


class ParseExit(Exception):
    """argparse ended the program: `code` (0 help/version, 2 usage error); its text is already printed."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def exit(self, status: int = 0, message: str | None = None) -> Any:
        if message:
            self._print_message(message, sys.stderr)
        raise ParseExit(status)


def human_readable_int(value: str) -> int:
    """`1k` = 1000, `1K` = 1024, `25.6k` = 25600, plain integers as they are (vLLM's `human_readable_int`)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kmgKMG])", value.strip())
    if match:
        number, suffix = match.groups()
        if suffix.islower():
            return int(float(number) * _MULT[suffix])
        if "." in number:
            raise argparse.ArgumentTypeError(f"Decimals are not allowed with binary suffixes like {suffix}.")
        return int(number) * _MULT[suffix]
    return int(value)


def human_readable_int_or_auto(value: str) -> int:
    """`-1` or `auto`: the largest length that fits memory (returned as -1)."""
    return -1 if value.strip().lower() in ("auto", "-1") else human_readable_int(value)


def _bool(parser: argparse.ArgumentParser, name: str, default: bool, *, disable: bool = False) -> None:
    """`--name` / `--no-name` (BooleanOptionalAction), plus the hidden `--disable-x` of an `--enable-x` flag."""
    dest = name.replace("-", "_")
    parser.add_argument(f"--{name}", dest=dest, action=argparse.BooleanOptionalAction, default=default)
    if disable:
        hidden = "--disable-" + name.removeprefix("enable-")
        parser.add_argument(hidden, dest=dest, action="store_false", help=argparse.SUPPRESS)


def _serve_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "model_tag", nargs="?", default=None, help="The model tag to serve (optional if in config)"
    )
    p.add_argument("--model", default=None)
    p.add_argument("--served-model-name", nargs="+", default=None)
    p.add_argument("--tokenizer", default=None)
    p.add_argument("--tokenizer-mode", default="auto")
    for name in ("revision", "tokenizer-revision", "code-revision", "download-dir", "chat-template",
                 "tool-call-parser", "otlp-traces-endpoint", "distributed-executor-backend"):  # fmt: skip
        p.add_argument(f"--{name}", default=None)
    _bool(p, "trust-remote-code", False)
    p.add_argument("--load-format", default="auto")
    p.add_argument("--dtype", choices=_DTYPES, default="auto")
    p.add_argument("--quantization", "-q", default=None)
    p.add_argument("--max-model-len", type=human_readable_int_or_auto, default=None)
    p.add_argument("--max-num-batched-tokens", type=human_readable_int, default=None)
    p.add_argument("--max-num-seqs", type=int, default=None)
    p.add_argument("--max-num-queued-reqs", type=int, default=None)
    p.add_argument("--max-num-queued-tokens", type=int, default=None)
    p.add_argument("--gpu-memory-utilization", "--device-memory-utilization", type=float, default=0.92)
    p.add_argument("--tensor-parallel-size", "-tp", type=int, default=1)
    p.add_argument("--data-parallel-size", "-dp", type=int, default=1)
    p.add_argument("--pipeline-parallel-size", "-pp", type=int, default=1)
    p.add_argument("--api-key", nargs="+", default=None)
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kv-cache-dtype", default="auto")
    p.add_argument("--generation-config", default="auto")
    p.add_argument("--shutdown-timeout", type=int, default=0)
    p.add_argument("--uvicorn-log-level", choices=("critical", "error", "warning", "info", "debug", "trace"),
                   default="info")  # fmt: skip
    p.add_argument("--disable-access-log-for-endpoints", default=None)
    p.add_argument("--max-logprobs", type=int, default=20)
    p.add_argument("--sse-keep-alive-interval", type=float, default=0)
    p.add_argument("--allowed-origins", default="[]")
    p.add_argument("--fingerprint-mode", choices=("full", "hash", "custom", "none"), default="full")
    p.add_argument("--scheduling-policy", choices=("fcfs", "priority"), default="fcfs")
    p.add_argument("--hf-token", nargs="?", const=True, default=None)
    p.add_argument("--block-size", type=int, default=None)
    p.add_argument("--num-gpu-blocks-override", type=int, default=None)
    p.add_argument("--kv-cache-memory-bytes", type=human_readable_int, default=None)
    p.add_argument("--max-cudagraph-capture-size", type=int, default=None)
    p.add_argument("--cudagraph-capture-sizes", type=int, nargs="+", default=None)
    p.add_argument("--lora-modules", nargs="+", default=None)
    for name in ("enforce-eager", "disable-log-stats", "enable-request-id-headers", "disable-fastapi-docs",
                 "disable-uvicorn-access-log", "enable-server-load-tracking", "enable-force-include-usage",
                 "enable-auto-tool-choice", "trust-request-chat-template", "enable-lora"):  # fmt: skip
        _bool(p, name, False)
    _bool(p, "enable-prefix-caching", True, disable=True)
    _bool(p, "enable-chunked-prefill", True, disable=True)
    _bool(p, "enable-log-requests", False, disable=True)


def _knob_default(knob: Knob, environ: Mapping[str, str]) -> Any:
    raw = environ.get(knob.env)
    if raw is None:
        return knob.default
    if knob.kind == "switch":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return _knob_type(knob)(raw)


def _knob_type(knob: Knob) -> Any:
    if knob.kind == "f64":
        return float
    if knob.kind in ("u64", "usize", "u32"):
        return int
    return str


def _knob_flags(p: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    group = p.add_argument_group(
        "Emulator options", "GPU-less emulator knobs (not vLLM flags); env EMULATOR_*"
    )
    for knob in KNOBS:
        default = _knob_default(knob, environ)
        if knob.kind == "switch":
            group.add_argument(f"--{knob.long}", action="store_true", default=default, help=knob.help)
        elif knob.kind == "enum":
            group.add_argument(f"--{knob.long}", choices=knob.choices, default=default, help=knob.help)
        else:
            group.add_argument(f"--{knob.long}", type=_knob_type(knob), default=default, help=knob.help)


def build_parser(prog: str = "vllm", environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The top-level `vllm` parser with its `serve` subcommand (the others exist only as names)."""
    env = os.environ if environ is None else environ
    top = _Parser(
        prog=prog, description="vLLM CLI (tgi-orchestrator emulator of vLLM 0.33.0's OpenAI server)"
    )
    top.add_argument("-v", "--version", action="version", version=VERSION)
    subparsers = top.add_subparsers(required=False, dest="subparser")
    for name in _SUBCOMMANDS:
        if name == "serve":
            serve = subparsers.add_parser(
                "serve", usage=f"{prog} serve [model_tag] [options]",
                help="Launch a local OpenAI-compatible API server to serve LLM completions via HTTP.",
            )  # fmt: skip
            _serve_flags(serve)
            _knob_flags(serve, env)
        else:
            subparsers.add_parser(name)
    return top


def _normalise(argv: Sequence[str]) -> list[str]:
    """`--max_model_len=4` -> `--max-model-len=4` (vLLM accepts both spellings)."""
    out = []
    for word in argv:
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            word = name.replace("_", "-") + eq + value
        out.append(word)
    return out


def parse_serve(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> argparse.Namespace:
    """`argv` after `vllm` (`serve MODEL ...`) to a namespace; raises ParseExit as argparse would exit."""
    words = _normalise(argv)
    parser = build_parser(environ=environ)
    if len(words) >= 2 and words[0] == "serve" and words[1] == "serve":  # `docker run IMAGE serve MODEL`
        parser.error("unrecognized arguments: serve")
    namespace = parser.parse_args(words)
    if namespace.subparser != "serve":
        if namespace.subparser is None:
            parser.print_help()
            raise ParseExit(0)
        parser.error(f"the `{namespace.subparser}` subcommand is not emulated; use `vllm serve`")
    return namespace


def serve_defaults() -> dict[str, Any]:
    """Every `serve` flag's default (what `non-default args` leaves out)."""
    return vars(build_parser(environ={}).parse_args(["serve"]))
