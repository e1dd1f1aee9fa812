"""Load-test options: one definition shared by Locust's command line and `orchestrator load`.

`add_arguments` adds them to Locust's parser (the `init_command_line_parser` hook); `LoadOptions.from_namespace`
turns the parsed values into one checked value. Options ride to Locust workers inside the master's spawn message,
so workers on other hosts get the same settings. Secrets never travel as options: the API key is read from
`ORCHESTRATOR_SECRETS__API_KEY` (the settings' variable) in each process.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from orchestrator.load.outcome import DEFAULT_MAX_ERROR_RATE
from orchestrator.load.prompts import (
    LengthDistribution,
    PromptError,
    PromptFile,
    PromptSource,
    SyntheticPrompts,
    parse_distribution,
)
from orchestrator.load.shapes import Shape, ShapeError, parse_shape
from orchestrator.load.slo import SloError, SloSet, load_slo_file, parse_slo_items

__all__ = ["DEFAULT_MAX_ERROR_RATE", "NAMED_SLOS", "LoadOptionError", "LoadOptions", "add_arguments"]

API_KEY_ENV = "ORCHESTRATOR_SECRETS__API_KEY"

# --slo-ttft-p50 200 and friends: the common gates get their own options; any other goes through --slo KEY=VALUE
NAMED_SLOS = (
    *tuple(f"{f}_p{q}" for f in ("ttft", "itl", "tpot", "e2e") for q in (50, 90, 95, 99)),
    "error_rate",
)


class LoadOptionError(ValueError):
    """A load-test option that cannot be used; the message names it, its value and the fix."""


def add_arguments(parser: Any) -> None:
    """Add our options to an argparse-compatible parser (Locust's configargparse one)."""
    group = parser.add_argument_group("TGI load test (orchestrator)")
    group.add_argument(
        "--report-dir", default="", help="write summary.json, samples.jsonl and PNG plots here"
    )
    group.add_argument(
        "--input-tokens",
        default="fixed:256",
        help="prompt tokens: 256, uniform:64,512, normal:200,50,16,1000",
    )
    group.add_argument(
        "--output-tokens", default="fixed:128", help="max_new_tokens, same syntax as --input-tokens"
    )
    group.add_argument(
        "--prompts-file", default="", help="JSONL of {prompt} or {messages}, optional max_new_tokens"
    )
    group.add_argument(
        "--shared-prefix",
        action="store_true",
        default=False,
        help="same prefix every request (study prefix caching)",
    )
    group.add_argument(
        "--requests",
        type=int,
        default=0,
        help="stop once this many requests have completed (answered or failed; 0 = no limit); "
        "with a run time, whichever comes first",
    )
    group.add_argument(
        "--max-error-rate",
        type=float,
        default=DEFAULT_MAX_ERROR_RATE,
        help="fail the run (exit 7) when more than this share of completed requests failed "
        f"(default {DEFAULT_MAX_ERROR_RATE:g}; 1 allows any; a run with no successful request always fails)",
    )
    group.add_argument(
        "--rate", type=float, default=0.0, help="open loop: requests/s over all processes (0 = closed loop)"
    )
    group.add_argument(
        "--arrival", default="constant", choices=["constant", "poisson"], help="open-loop arrivals"
    )
    group.add_argument(
        "--max-lateness", type=float, default=1.0, help="open loop: drop a send later than this (s)"
    )
    group.add_argument(
        "--late-after", type=float, default=0.010, help="open loop: count a send later than this (s) as late"
    )
    group.add_argument(
        "--shape",
        default="",
        help="step:START,STEP,EVERY_S,MAX | ramp:FROM,TO,OVER_S | spike:BASE,PEAK,AT_S,FOR_S",
    )
    group.add_argument(
        "--slo", action="append", default=[], help="gate, repeatable: ttft_p50=200ms, error_rate=1%%"
    )
    group.add_argument("--slo-file", default="", help="TOML/JSON file with an [slo] table")
    for key in NAMED_SLOS:
        unit = "fraction or %" if key == "error_rate" else "ms"
        group.add_argument(f"--slo-{key.replace('_', '-')}", default="", help=f"gate on {key} ({unit})")
    group.add_argument(
        "--seed", type=int, default=0, help="seed for lengths and Poisson arrivals (0 = random)"
    )
    group.add_argument(
        "--token-check",
        type=int,
        default=200,
        help="texts per process re-counted with the tokenizer (0 = off)",
    )
    group.add_argument("--request-timeout", type=float, default=300.0, help="longest a request may take (s)")
    group.add_argument("--scenario-label", default="", help="free text stored in the summary")
    # set by `orchestrator load` (exact run time, Locust's -t takes whole seconds) and by the master for its
    # workers; not for users
    group.add_argument("--tgi-run-time", type=float, default=0.0, help=argparse_suppress())
    group.add_argument("--tgi-epoch", type=float, default=0.0, help=argparse_suppress())
    group.add_argument("--tgi-processes", type=int, default=0, help=argparse_suppress())


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS


@dataclass(frozen=True)
class LoadOptions:
    report_dir: Path | None
    input_tokens: LengthDistribution
    output_tokens: LengthDistribution
    prompts_file: Path | None
    unique_prefix: bool
    rate: float
    arrival: str
    max_lateness: float
    late_after: float
    shape: Shape | None
    slo: SloSet
    seed: int | None
    token_check: int
    request_timeout: float
    label: str
    requests: int = 0
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE

    @classmethod
    def from_namespace(cls, ns: Any) -> LoadOptions:
        """Check every option at once; a bad one raises `LoadOptionError` naming it."""
        try:
            inputs = parse_distribution(ns.input_tokens, setting="--input-tokens")
            outputs = parse_distribution(ns.output_tokens, setting="--output-tokens")
            shape = parse_shape(ns.shape) if ns.shape else None
            slo = parse_slo_items(ns.slo or [])
            if ns.slo_file:
                slo = load_slo_file(Path(ns.slo_file)).merged(slo)
            named = [
                f"{key}={getattr(ns, 'slo_' + key)}" for key in NAMED_SLOS if getattr(ns, "slo_" + key, "")
            ]
            slo = slo.merged(parse_slo_items(named))
        except (PromptError, ShapeError, SloError) as exc:
            raise LoadOptionError(str(exc)) from exc
        if ns.rate < 0:
            raise LoadOptionError(f"--rate {ns.rate}: must be 0 (closed loop) or a positive requests/s")
        if ns.max_lateness <= 0 or ns.late_after < 0:
            raise LoadOptionError("--max-lateness must be above 0 and --late-after at least 0 (seconds)")
        if ns.requests < 0:
            raise LoadOptionError(f"--requests {ns.requests}: must be a count of requests (0 = no limit)")
        if not 0.0 <= ns.max_error_rate <= 1.0:
            raise LoadOptionError(
                f"--max-error-rate {ns.max_error_rate:g}: must be a share between 0 and 1 (0.05 = 5 %)"
            )
        if ns.prompts_file and not Path(ns.prompts_file).is_file():
            raise LoadOptionError(f"--prompts-file {ns.prompts_file!r} does not exist; pass a JSONL file")
        return cls(
            report_dir=Path(ns.report_dir) if ns.report_dir else None,
            input_tokens=inputs,
            output_tokens=outputs,
            prompts_file=Path(ns.prompts_file) if ns.prompts_file else None,
            unique_prefix=not ns.shared_prefix,
            rate=float(ns.rate),
            arrival=ns.arrival,
            max_lateness=float(ns.max_lateness),
            late_after=float(ns.late_after),
            shape=shape,
            slo=slo,
            seed=ns.seed or None,
            token_check=int(ns.token_check),
            request_timeout=float(ns.request_timeout),
            label=ns.scenario_label,
            requests=int(ns.requests),
            max_error_rate=float(ns.max_error_rate),
        )

    def prompt_source(self, *, worker: int = 0) -> PromptSource:
        """The prompts this run sends (a JSONL file or synthetic ones); raises `PromptError` when unusable."""
        if self.prompts_file is not None:
            return PromptFile(self.prompts_file, self.output_tokens, seed=self.seed)
        return SyntheticPrompts(
            self.input_tokens,
            self.output_tokens,
            unique_prefix=self.unique_prefix,
            seed=None if self.seed is None else self.seed + worker,
        )

    def describe(self) -> dict[str, Any]:
        """Plain values for the summary JSON."""
        out = asdict(self)
        out.update(
            report_dir=str(self.report_dir) if self.report_dir else None,
            input_tokens=str(self.input_tokens),
            output_tokens=str(self.output_tokens),
            prompts_file=str(self.prompts_file) if self.prompts_file else None,
            shape=str(self.shape) if self.shape else None,
            slo=self.slo.to_dict(),
            mode="open loop" if self.rate > 0 else "closed loop",
        )
        return out


def auth_headers() -> dict[str, str]:
    key = os.environ.get(API_KEY_ENV, "")
    return {"Authorization": f"Bearer {key}"} if key else {}
