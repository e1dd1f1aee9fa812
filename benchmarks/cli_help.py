"""Wall time of `orchestrator --help` in fresh processes (target: under 0.3 s on the project's machines).

Each run starts a new interpreter through the installed console script, as a user would, so import cost is
measured every time (one untimed warm-up run fills the OS file cache first). Prints min / median / p90 / max
and whether the median meets the target; `--json` for machine-readable output. Exit code 1 when it misses.

    python benchmarks/cli_help.py [--runs 15] [--target 0.3] [--command "orchestrator config --help"]
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _support import Targets


def _default_command() -> list[str]:
    script = Path(sys.executable).with_name("orchestrator")
    return [str(script) if script.exists() else (shutil.which("orchestrator") or "orchestrator"), "--help"]


def measure(command: list[str], runs: int) -> list[float]:
    """Seconds per run of `command`, each in a fresh process; fails loudly if the command fails."""
    subprocess.run(command, check=True, capture_output=True)  # warm-up, untimed
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--target", type=float, default=0.3, help="seconds the median must stay under")
    parser.add_argument(
        "--command", help="command line to time (default: the installed `orchestrator --help`)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    command = shlex.split(args.command) if args.command else _default_command()
    times = sorted(measure(command, args.runs))
    p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
    median = statistics.median(times)
    figures = {
        "command": shlex.join(command),
        "runs": len(times),
        "min_s": round(times[0], 4),
        "median_s": round(median, 4),
        "p90_s": round(p90, 4),
        "max_s": round(times[-1], 4),
        "target_s": args.target,
    }
    targets = Targets("cli_help", quiet=args.json)
    if not args.json:
        print(f"{figures['command']}: {figures['runs']} fresh processes")
        print(
            f"  min {figures['min_s']:.3f} s  median {figures['median_s']:.3f} s  p90 {figures['p90_s']:.3f} s  "
            f"max {figures['max_s']:.3f} s"
        )
    figures["meets_target"] = targets.check("median_s", median, "<", args.target, "s")
    if args.json:
        print(json.dumps(figures))
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
