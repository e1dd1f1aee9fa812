"""How fast are `orchestrator doctor` and `up --dry-run` on a host without a GPU (targets: doctor median under
1 s; `up --dry-run` median no more than 10 % above the code before issue 14)?

Each run is a fresh process of the installed console script, as a user would type it, with the settings of a
fresh checkout (no .env, no TOML, no ORCHESTRATOR_* variables). The dry-run comparison is side by side in one
run: the same command with PYTHONPATH on this tree and on `git archive <baseline-ref>` of the code before the
doctor existed, interleaved A/B so the machine's noise hits both alike. One untimed warm-up run each.

    python benchmarks/doctor_speed.py [--runs 15] [--baseline-ref 375b37b] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from _support import Targets

ROOT = Path(__file__).resolve().parents[1]
BEFORE_ISSUE_14 = "375b37b"
"""main when issue 14 started: `up --dry-run` as it was before the doctor's checks."""


def _env(code: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
    env.update(PYTHONPATH=str(code), HOME=str(home), XDG_CACHE_HOME=str(home / "xdg"))
    return env


CPU: list[float] = []
"""CPU seconds (user + system) of each timed child, in order: what the wall time would be on an idle machine,
less waits. Printed beside the wall times because the shared machines here run far above one job per core."""


def _time(command: list[str], env: dict[str, str], cwd: Path, ok_codes: set[int]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begin = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - begin
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode not in ok_codes:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def _baseline(ref: str, into: Path) -> Path:
    """The package as it was at `ref`, unpacked from `git archive` (nothing in any worktree is touched)."""
    archive = into / "baseline.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", ref, "orchestrator"], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "baseline", filter="data")
    return into / "baseline"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline-ref", default=BEFORE_ISSUE_14)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    script = str(Path(sys.executable).with_name("orchestrator"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "cwd").mkdir()
        ours, before = _env(ROOT, work), _env(_baseline(args.baseline_ref, work), work)
        doctor = [script, "doctor"]
        dry = [script, "up", "--dry-run"]
        _time(doctor, ours, work / "cwd", {0, 3})  # exit 3: a check failed (no GPU here), as expected
        CPU.clear()
        doctor_times = [_time(doctor, ours, work / "cwd", {0, 3}) for _ in range(args.runs)]
        doctor_cpu = list(CPU)
        _time(dry, ours, work / "cwd", {0})
        _time(dry, before, work / "cwd", {0})
        mine: list[float] = []
        theirs: list[float] = []
        for _ in range(args.runs):
            mine.append(_time(dry, ours, work / "cwd", {0}))
            theirs.append(_time(dry, before, work / "cwd", {0}))
    ratio = statistics.median(mine) / statistics.median(theirs)
    figures = {
        "runs": args.runs,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "doctor_median_s": round(statistics.median(doctor_times), 4),
        "doctor_cpu_median_s": round(statistics.median(doctor_cpu), 4),
        "doctor_max_s": round(max(doctor_times), 4),
        "dry_run_median_s": round(statistics.median(mine), 4),
        "dry_run_baseline_median_s": round(statistics.median(theirs), 4),
        "dry_run_ratio": round(ratio, 4),
        "baseline_ref": args.baseline_ref,
    }
    targets = Targets("doctor_speed", quiet=args.json)
    if not args.json:
        print(
            f"orchestrator doctor (no GPU here): median {figures['doctor_median_s']:.3f} s wall, "
            f"{figures['doctor_cpu_median_s']:.3f} s CPU, max {figures['doctor_max_s']:.3f} s "
            f"(load average {figures['load_average_1m']} on {figures['cpus']} CPUs)"
        )
        print(
            f"up --dry-run: median {figures['dry_run_median_s']:.3f} s, before issue 14 ({args.baseline_ref}) "
            f"{figures['dry_run_baseline_median_s']:.3f} s, ratio {ratio:.3f}"
        )
    targets.check("doctor_median_s", statistics.median(doctor_times), "<", 1.0, "s")
    targets.check("dry_run_ratio", ratio, "<=", 1.10)
    if args.json:
        print(json.dumps(figures))
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
