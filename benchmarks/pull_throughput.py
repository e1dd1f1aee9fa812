"""`orchestrator pull` of a 2 GB snapshot from the Hub stand-in on loopback vs huggingface_hub's own
`snapshot_download` of the same snapshot with progress bars off (target: our wall time within 10 %).

Side by side in one run, alternating, each run a fresh process into a fresh cache (deleted afterwards); the
call itself is timed inside the process (imports excluded: `cli_help` measures start-up), and the whole
process from outside:
- `snapshot_download`: `snapshot_download(repo)` with HF_HUB_DISABLE_PROGRESS_BARS=1;
- `pull_live`: `orchestrator.weights.pull` rendering the CLI's rich live display (per-file and total bars) onto
  a terminal console (written to /dev/null, every frame still drawn);
- `pull_json`: the same with the CLI's JSON events;
- `pull_live_no_verify`: `pull_live` checking sizes only (`--no-verify`): the cost of our wrapper and display
  alone, without the sha256 of every byte, which needs a spare core to be free.
Our pull does more than the baseline: the listing, the dry run and disk check, and sha256 of every byte
(hashed as it lands). The stand-in (`python -m orchestrator.emulator.hub --weights-size`) generates the
weights on the fly. Figures: median seconds of each, CPU seconds, and the ratios of the medians.

    python benchmarks/pull_throughput.py [--size 2000000000] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _support import Targets

ROOT = Path(__file__).resolve().parents[1]
REPO = "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"
VARIANTS = ("snapshot_download", "pull_live", "pull_json", "pull_live_no_verify")


@contextmanager
def stand_in(size: int) -> Iterator[str]:
    command = [sys.executable, "-m", "orchestrator.emulator.hub", "--port", "0", "--weights-size", str(size)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env=_env(None, Path("/nonexistent"))
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "ready at" not in line:
            raise SystemExit(f"the Hub stand-in did not start: {line!r}")
        yield line.split()[4]
    finally:
        process.terminate()
        process.wait(timeout=30)


def _env(url: str | None, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "ORCHESTRATOR_", "HUGGING_FACE"))}
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env.update(PYTHONPATH=path, HF_HOME=str(home), HF_HUB_DISABLE_IMPLICIT_TOKEN="1", HF_HUB_DISABLE_XET="1",
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
               ORCHESTRATOR_HOST__CACHE_DIR=str(home / "data"))  # fmt: skip
    if url:
        env["HF_ENDPOINT"] = url
    return env


def child(variant: str) -> None:
    """One timed run in this (fresh) process; prints `{"call_s": ...}`."""
    if variant == "snapshot_download":
        from huggingface_hub import snapshot_download

        start = time.perf_counter()
        snapshot_download(REPO)
    else:
        from huggingface_hub import snapshot_download
        from rich.console import Console

        from orchestrator.cli.pull_progress import JsonPullReporter, LivePullReporter
        from orchestrator.config.loading import load_settings
        from orchestrator.launch.plan import build_plan  # noqa: F401 (what pull imports lazily)
        from orchestrator.weights import pull

        sink = open(os.devnull, "w")  # noqa: SIM115
        reporter = (
            LivePullReporter(Console(file=sink, force_terminal=True, width=120))
            if variant.startswith("pull_live")
            else JsonPullReporter(sink)
        )
        start = time.perf_counter()
        result = pull(load_settings(), progress=reporter, verify=not variant.endswith("no_verify"))
        reporter.close()
        assert result.verified == 10 and result.fetched_bytes > 0
    print(json.dumps({"call_s": time.perf_counter() - start}))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(variant: str, url: str, home: Path) -> dict[str, float]:
    before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", variant], env=_env(url, home), cwd=home,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    process_s = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    call_s = float(json.loads(done.stdout.strip().splitlines()[-1])["call_s"])
    return {"call_s": call_s, "process_s": process_s, "cpu_s": _children_cpu() - before}


def measure(url: str, rounds: int, scratch: Path) -> dict[str, list[dict[str, float]]]:
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    for index in range(rounds):
        for name in VARIANTS if index % 2 == 0 else reversed(VARIANTS):
            home = Path(tempfile.mkdtemp(prefix=f"pull-bench-{name}-", dir=scratch))
            try:
                runs[name].append(_run(name, url, home))
            finally:
                shutil.rmtree(home, ignore_errors=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2_000_000_000, help="bytes of the generated weights file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--target", type=float, default=1.10, help="highest ratio of our median to the baseline's"
    )
    parser.add_argument(
        "--scratch", default=tempfile.gettempdir(), help="where the caches go (deleted after)"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    scratch = Path(args.scratch)
    if shutil.disk_usage(scratch).free < 2 * args.size:
        raise SystemExit(f"{scratch} has too little free space; this benchmark needs {2 * args.size:,} bytes")
    with stand_in(args.size) as url:
        runs = measure(url, args.rounds, scratch)
    med = {
        n: {k: statistics.median(r[k] for r in runs[n]) for k in ("call_s", "process_s", "cpu_s")}
        for n in runs
    }
    base = med["snapshot_download"]
    figures = {
        "size_bytes": args.size,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "medians": {n: {k: round(v, 3) for k, v in m.items()} for n, m in med.items()},
        "runs": {n: [{k: round(v, 3) for k, v in r.items()} for r in rs] for n, rs in runs.items()},
        "ratio_live": round(med["pull_live"]["call_s"] / base["call_s"], 4),
        "ratio_json": round(med["pull_json"]["call_s"] / base["call_s"], 4),
        "ratio_live_no_verify": round(med["pull_live_no_verify"]["call_s"] / base["call_s"], 4),
        "process_ratio_live": round(med["pull_live"]["process_s"] / base["process_s"], 4),
        "baseline_MBps": round(args.size / base["call_s"] / 1e6, 1),
    }
    targets = Targets("pull_throughput", quiet=args.json)
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"pull of a {args.size / 1e9:.2f} GB snapshot from the Hub stand-in on loopback, {args.rounds} rounds, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")  # fmt: skip
        for name, m in med.items():
            calls = ", ".join(f"{r['call_s']:.2f}" for r in runs[name])
            print(f"  {name:18} call median {m['call_s']:.2f} s ({calls}); process {m['process_s']:.2f} s; "
                  f"CPU {m['cpu_s']:.2f} s")  # fmt: skip
        print(
            f"  baseline {figures['baseline_MBps']} MB/s; whole-process ratio (live) {figures['process_ratio_live']}"
        )
    targets.check("live_to_snapshot_download_ratio", figures["ratio_live"], "<=", args.target)
    targets.check("json_to_snapshot_download_ratio", figures["ratio_json"], "<=", args.target)
    targets.check(
        "live_no_verify_to_snapshot_download_ratio", figures["ratio_live_no_verify"], "<=", args.target
    )
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
