"""Load-test options, checked: `LoadOptions` is what a run uses (lengths, shape, SLOs parsed, limits checked).

The options themselves are declared once in `declaration.py` (`LoadArgs`); `LoadOptions.from_args` checks such a
value, `from_namespace` takes Locust's parsed options (the same declaration's argparse). Options ride to Locust
workers inside the master's spawn message, so workers on other hosts get the same settings. Secrets never travel
as options: the API key is read from `ORCHESTRATOR_SECRETS__API_KEY` (the settings' variable) in each process.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.config.sources import env_var_for
from orchestrator.load.datasets import InputLimits
from orchestrator.load.declaration import LoadArgs, declared_options
from orchestrator.load.outcome import DEFAULT_MAX_ERROR_RATE
from orchestrator.load.prefixes import PrefixPlan
from orchestrator.load.prompts import LengthDistribution, PromptError, parse_distribution
from orchestrator.load.sessions import SessionPlan
from orchestrator.load.shapes import Shape, ShapeError, parse_shape
from orchestrator.load.slo import SloError, SloSet, load_slo_file, parse_slo_items

__all__ = ["API_KEY_ENV", "LoadOptionError", "LoadOptions", "auth_headers"]

API_KEY_ENV = env_var_for("secrets.api_key")
"""The settings' variable for TGI's API key, which each Locust process reads (`orchestrator load` sets it)."""


class LoadOptionError(ValueError):
    """A load-test option that cannot be used; the message names it, its value and the fix."""


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
    dataset: Path | None = None
    output_from: str = "file"
    prefix: PrefixPlan = field(default_factory=PrefixPlan)
    sessions: SessionPlan = field(default_factory=SessionPlan)
    trace: Path | None = None
    time_scale: float = 1.0
    limits: InputLimits = field(default_factory=InputLimits)
    url_b: str = ""
    """A/B: the second server ("" in an ordinary run)."""
    engine: str = ""
    """The engine of the host, resolved by `orchestrator load` ("" when Locust runs alone: `ENGINE_ENV` or TGI)."""
    engine_b: str = ""
    """The engine of `url_b` (an A/B run may compare two engines)."""

    @classmethod
    def from_namespace(cls, ns: Any) -> LoadOptions:
        """From Locust's parsed options (the declaration's argparse)."""
        return cls.from_args(LoadArgs.from_values(vars(ns)))

    @classmethod
    def from_args(cls, args: LoadArgs) -> LoadOptions:
        """Check every option at once; a bad one raises `LoadOptionError` naming it."""
        try:
            inputs = parse_distribution(args.input_tokens, setting="--input-tokens")
            outputs = parse_distribution(args.output_tokens, setting="--output-tokens")
            shape = parse_shape(args.shape) if args.shape else None
            slo = SloSet((), None)
            for item in args.slo:  # a later item wins for its key (the named gates come last: they win)
                slo = slo.merged(parse_slo_items([item]))
            if args.slo_file:
                slo = load_slo_file(Path(args.slo_file)).merged(slo)
        except (PromptError, ShapeError, SloError) as exc:
            raise LoadOptionError(str(exc)) from exc
        _check_choices(args)
        if args.rate < 0:
            raise LoadOptionError(f"--rate {args.rate}: must be 0 (closed loop) or a positive requests/s")
        if args.max_lateness <= 0 or args.late_after < 0:
            raise LoadOptionError("--max-lateness must be above 0 and --late-after at least 0 (seconds)")
        if args.requests < 0:
            raise LoadOptionError(f"--requests {args.requests}: must be a count of requests (0 = no limit)")
        if not 0.0 <= args.max_error_rate <= 1.0:
            raise LoadOptionError(
                f"--max-error-rate {args.max_error_rate:g}: must be a share between 0 and 1 (0.05 = 5 %)"
            )
        if args.url_b and not args.url_b.startswith(("http://", "https://")):
            raise LoadOptionError(f"--url-b {args.url_b!r} must start with http:// or https://")
        if args.prompts_file and not Path(args.prompts_file).is_file():
            raise LoadOptionError(f"--prompts-file {args.prompts_file!r} does not exist; pass a JSONL file")
        _check_workload(args)
        return cls(
            report_dir=Path(args.report_dir) if args.report_dir else None,
            input_tokens=inputs,
            output_tokens=outputs,
            prompts_file=Path(args.prompts_file) if args.prompts_file else None,
            unique_prefix=not args.shared_prefix,
            rate=float(args.rate),
            arrival=args.arrival,
            max_lateness=float(args.max_lateness),
            late_after=float(args.late_after),
            shape=shape,
            slo=slo,
            seed=args.seed or None,
            token_check=int(args.token_check),
            request_timeout=float(args.request_timeout),
            label=args.scenario_label,
            requests=int(args.requests),
            max_error_rate=float(args.max_error_rate),
            dataset=Path(args.dataset) if args.dataset else None,
            output_from=args.output_from,
            prefix=PrefixPlan(int(args.shared_prefix_tokens), int(args.prefix_groups)),
            sessions=SessionPlan(int(args.turns), float(args.think_time)),
            trace=Path(args.trace) if args.trace else None,
            time_scale=float(args.time_scale),
            limits=InputLimits(args.tgi_max_input_tokens or None, args.tgi_max_total_tokens or None),
            url_b=args.url_b.rstrip("/"),
            engine=args.tgi_engine,
            engine_b=args.tgi_engine_b,
        )

    @property
    def open_loop(self) -> bool:
        """Sends at scheduled times: `--rate`, or a trace's recorded offsets."""
        return self.rate > 0 or self.trace is not None

    def describe(self) -> dict[str, Any]:
        """Plain values for the summary JSON."""
        out = asdict(self)
        out.update(
            report_dir=str(self.report_dir) if self.report_dir else None,
            input_tokens=str(self.input_tokens),
            output_tokens=str(self.output_tokens),
            prompts_file=str(self.prompts_file) if self.prompts_file else None,
            dataset=str(self.dataset) if self.dataset else None,
            trace=str(self.trace) if self.trace else None,
            shape=str(self.shape) if self.shape else None,
            slo=self.slo.to_dict(),
            mode=("trace replay (open loop)" if self.trace else "open loop")
            if self.open_loop
            else "closed loop",
        )
        return out


def _check_choices(args: LoadArgs) -> None:
    for option in declared_options():
        value = getattr(args, option.name, None)
        if option.spec.choices and value not in option.spec.choices:
            raise LoadOptionError(f"{option.flag} {value!r} is not one of {', '.join(option.spec.choices)}")


def _check_workload(args: LoadArgs) -> None:
    """The workload options that exclude each other, and the files they name."""
    for flag, value in (("--dataset", args.dataset), ("--trace", args.trace)):
        if value and not Path(value).is_file():
            raise LoadOptionError(f"{flag} {value!r} does not exist; pass a JSONL file")
    sources = [f for f, v in (("--prompts-file", args.prompts_file), ("--dataset", args.dataset),
                              ("--trace", args.trace)) if v]  # fmt: skip
    if len(sources) > 1:
        raise LoadOptionError(f"{' and '.join(sources)} both give the prompts; keep one")
    if args.trace and (args.rate or args.shape):
        raise LoadOptionError("--trace sets the arrival times itself; drop --rate/--shape (or --trace)")
    if args.trace and args.turns > 1:
        raise LoadOptionError("--trace entries are single requests; drop --turns (or --trace)")
    if args.shared_prefix and args.shared_prefix_tokens:
        raise LoadOptionError("--shared-prefix and --shared-prefix-tokens both set the prefix; keep one")
    if args.time_scale <= 0:
        raise LoadOptionError(
            f"--time-scale {args.time_scale:g}: must be above 0 (0.5 replays twice as fast)"
        )
    try:
        PrefixPlan(int(args.shared_prefix_tokens), int(args.prefix_groups)).check()
        SessionPlan(int(args.turns), float(args.think_time)).check()
    except PromptError as exc:
        raise LoadOptionError(str(exc)) from exc


def auth_headers() -> dict[str, str]:
    key = os.environ.get(API_KEY_ENV, "")
    return {"Authorization": f"Bearer {key}"} if key else {}
