"""What one `orchestrator load` run is asked (`LoadRequest`) and what it gave (`LoadResult`), and the words of
the run's own options (`--duration`, `--sweep`, `--scenario`) read into values."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.load.declaration import LoadArgs
from orchestrator.load.distributed import Distributed
from orchestrator.load.options import LoadOptionError, LoadOptions
from orchestrator.load.outcome import INTERRUPTED_EXIT_CODE, SLO_EXIT_CODE
from orchestrator.load.prompts import PromptError
from orchestrator.load.workload import Workload

__all__ = ["SCENARIOS", "LoadError", "LoadRequest", "LoadResult", "parse_duration", "parse_rates"]

SCENARIOS: dict[str, tuple[str, ...]] = {
    "generate": ("GenerateUser",),
    "stream": ("StreamUser",),
    "chat": ("ChatUser",),
    "client": ("ClientUser",),
    "mix": (),  # every user class of the locustfile, by weight
}


class LoadError(OrchestratorError):
    """The load test could not run (bad option, Locust crashed, no summary)."""

    exit_code = 2


def parse_duration(text: str, *, setting: str = "--duration") -> float:
    """`30s`, `2m`, `1h30m`, `45` (seconds) -> seconds."""
    raw = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        value = float(raw)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", raw)
        if not parts or "".join(n + u for n, u in parts) != raw:
            raise LoadError(f"{setting} {text!r} is not a duration; use e.g. 30s, 2m or 1h30m")
        value = sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    if value <= 0:
        raise LoadError(f"{setting} {text!r} must be above zero")
    return value


def parse_rates(text: str) -> list[float]:
    """`1,2,4,8` or `START:STOP:STEP` (inclusive) -> rates in requests/s."""
    hint = f"--sweep {text!r}: use a list like 1,2,4,8 or a range START:STOP:STEP like 2:20:2"
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if step <= 0 or start <= 0 or stop < start:
                raise LoadError(hint)
            count = math.floor((stop - start) / step + 1e-9) + 1
            rates = [round(start + i * step, 6) for i in range(count)]
        else:
            rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise LoadError(hint) from None
    if not rates or any(r <= 0 for r in rates) or rates != sorted(rates):
        raise LoadError(hint + " (positive, rising)")
    return rates


@dataclass(frozen=True)
class LoadRequest:
    """One Locust run."""

    url: str
    scenario: str
    users: int
    duration_s: float | None
    """None: no run time (a `--requests` run ends when its requests are answered)"""
    report_dir: Path
    processes: int = 1
    spawn_rate: float | None = None
    options: LoadArgs | Sequence[str] = field(default_factory=LoadArgs)
    """Our Locust options: a `LoadArgs`, or command-line words (`("--rate", "5")`) that are read once, here, by
    the parser Locust uses; a `LoadArgs` from then on (`args`)."""
    distributed: Distributed | None = None
    """A master of workers on other hosts (`--master`); None: this host's processes only."""
    api_key: str | None = field(default=None, repr=False, compare=False)
    """TGI's API key (the settings' `secrets.api_key`): handed to the Locust processes in their environment
    (`ORCHESTRATOR_SECRETS__API_KEY`), never on their command line; kept out of the repr."""
    engine: str | None = None
    """The engine to load (`tgi`, `vllm`); None: detected from the endpoint when the run starts."""

    def __post_init__(self) -> None:
        if not isinstance(self.options, LoadArgs):
            try:
                object.__setattr__(self, "options", LoadArgs.from_argv(self.options))
            except ValueError as exc:
                raise LoadError(str(exc)) from None

    @property
    def args(self) -> LoadArgs:
        """The options (always a `LoadArgs` once made)."""
        assert isinstance(self.options, LoadArgs)
        return self.options

    def checked_options(self) -> LoadOptions:
        """Check the request and its options, before Locust starts."""
        if self.scenario not in SCENARIOS:
            raise LoadError(f"--scenario {self.scenario!r} is not one of {', '.join(SCENARIOS)}")
        if self.users < 1:
            raise LoadError(f"--users {self.users} must be at least 1")
        if self.processes < 1:
            raise LoadError(f"--processes {self.processes} must be at least 1")
        if self.distributed is not None:
            self.distributed.check()
            if self.processes > 1:
                raise LoadError(
                    f"--processes {self.processes} with --master: a master only coordinates; start the load "
                    "processes on the worker hosts (`orchestrator load --worker --processes N`)"
                )
        if self.duration_s is not None and self.duration_s <= 0:
            raise LoadError(f"--duration {self.duration_s:g} s must be above zero")
        try:
            options = LoadOptions.from_args(self.args)
            Workload(
                options
            )  # a too-short length or a bad dataset/trace line fails here, before Locust starts
        except (LoadOptionError, PromptError) as exc:
            raise LoadError(str(exc)) from exc
        if (
            self.duration_s is None
            and not options.requests
            and options.shape is None
            and options.trace is None
        ):
            raise LoadError("give --duration, --requests or both (the run stops at whichever comes first)")
        return options


@dataclass
class LoadResult:
    request: LoadRequest
    summary: dict[str, Any]
    exit_code: int
    """Locust's own exit status"""
    log_file: Path
    interrupted: bool = False
    """Ctrl-C reached `orchestrator load` during the run"""

    @property
    def slo_passed(self) -> bool:
        return bool(self.summary.get("slo", {}).get("passed", True))

    @property
    def verdict(self) -> str:
        return str(self.summary.get("slo", {}).get("verdict", "SLO: none set"))

    @property
    def outcome(self) -> dict[str, Any]:
        return dict(self.summary.get("outcome") or {})

    @property
    def problems(self) -> list[str]:
        """Why the requests count as failed (`outcome.py`); empty when they do not."""
        return list(self.outcome.get("problems", []))

    @property
    def command_exit_code(self) -> int:
        """What `orchestrator load` exits with: 130 interrupted, 7 requests failed, 5 SLO missed, else 0."""
        if self.interrupted:
            return INTERRUPTED_EXIT_CODE
        if "exit_code" in self.outcome:
            return int(self.outcome["exit_code"])
        return 0 if self.slo_passed else SLO_EXIT_CODE
