"""What the HAProxy balancer costs and what three replicas behind it buy, with the emulator image on Docker.

    python benchmarks/balancer_overhead.py [--duration 20] [--streams 64] [--rate 40]

Needs the Docker Engine, the emulator image and the HAProxy image (compose/build-haproxy-image.sh). It starts a
set of 3 replicas (`orchestrator.deploy` with `host.replicas=3`, emulator profile a100-awq; for the overhead with
a fixed prefill and decode step, `STEADY`) and measures:

1. Overhead, same run, same replicas: `--streams` streams at once, half through the balancer and half straight
   to the replicas' own ports, from six Locust processes alike (three per path, one per replica's share), all
   running together so both paths see the same load and the same client-side CPU contention. Figures = median TTFT and median ITL through the balancer minus direct, from every
   request's sample. Targets: < 2 ms TTFT, < 0.5 ms ITL.
2. Scaling: replicas limited to a running batch of 4 (`limits.max_batch_size`), an open-loop load of `--rate`
   requests/s (about 2.5x what one replica serves, so a single replica's queue grows) straight to replica 1, then
   the same load through the balancer. Figure = requests answered within the TTFT SLO (`--slo-ttft`, 1 s) through
   the balancer / straight to one replica. Target: >= 2.5. Each replica's share of the balanced run (HAProxy's
   per-server response counters) is printed; least connections should spread it evenly.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from _support import Targets

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from orchestrator.config.loading import load_settings  # noqa: E402
from orchestrator.deploy import lifecycle  # noqa: E402
from orchestrator.formats.prometheus import parse_prometheus, value  # noqa: E402
from orchestrator.load.figures import Sample  # noqa: E402
from orchestrator.load.report import read_samples  # noqa: E402


def _free_run(count: int) -> int:
    import random
    import socket

    for _ in range(200):
        first = random.randint(20000, 60000 - count)
        try:
            for port in range(first, first + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise SystemExit("no run of free ports")


PROFILE = ["--emulator-profile", "a100-awq"]
STEADY = [*PROFILE, "--emulator-prefill-base-ms", "4", "--emulator-prefill-per-token-ms", "0",
          "--emulator-decode-base-ms", "8", "--emulator-decode-per-seq-ms", "0"]  # fmt: skip
"""For the overhead: a fixed 4 ms prefill and 8 ms decode step whatever the batch, so a request's TTFT varies only
by where in a step it arrives (±4 ms) rather than by how many others share the batch (tens of ms), and a
difference of medians of a fraction of a millisecond can be told from noise."""


def _start(name: str, port: int, cache: Path, extra: list[str], engine_args: list[str] = PROFILE) -> Any:
    settings = load_settings(
        {"engine.image": "tgi-orchestrator/emulator:3.3.7", "engine.extra_args": engine_args,
         "host.gpus": "none", "host.replicas": 3, "host.port": port, "host.cache_dir": str(cache),
         "host.container_name": name, **dict(item.split("=", 1) for item in extra)},
        env_file=None,
    )  # fmt: skip
    return lifecycle.up(settings)


def _load(url: str, report: Path, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-c", "from orchestrator.cli import main; main()", "load", "--url", url,
           "--scenario", "stream", "--input-tokens", "64", "--max-error-rate", "1", "--report-dir", str(report),
           "--json", *args]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)


def _samples(report: Path) -> list[Sample]:
    return [s for f in sorted(report.rglob("samples.jsonl")) for s in read_samples(f)]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _responses(metrics: str) -> dict[str, float]:
    with urllib.request.urlopen(metrics + "/metrics", timeout=2) as response:
        series = parse_prometheus(response.read().decode())
    return {
        s: value(series, "haproxy_server_http_responses_total", proxy="replicas", server=s)
        for s in ("r1", "r2", "r3")
    }


def overhead(args: argparse.Namespace, work: Path, targets: Targets) -> None:
    name, port = f"bench-lb-{uuid.uuid4().hex[:6]}", _free_run(5)
    _start(name, port, work / "cache", [], STEADY)
    try:
        half, duration = args.streams // 2, f"{args.duration}s"
        shares = [half // 3 + (1 if i < half % 3 else 0) for i in range(3)]
        runs = []
        for i, users in enumerate(shares, start=1):  # the same three Locust processes on each path
            for url, report in (
                (f"http://127.0.0.1:{port}", f"balanced-{i}"),
                (f"http://127.0.0.1:{port + i}", f"direct-{i}"),
            ):
                runs.append(_load(url, work / report, "--users", str(users), "--duration", duration,
                                  "--output-tokens", "64"))  # fmt: skip
        for run in runs:
            run.wait(timeout=args.duration + 180)
    finally:
        lifecycle.down(name)
    balanced = [s for i in (1, 2, 3) for s in _samples(work / f"balanced-{i}") if s.ok]
    direct = [s for i in (1, 2, 3) for s in _samples(work / f"direct-{i}") if s.ok]
    figures: dict[str, tuple[float, float]] = {}
    for label in ("ttft", "itl", "e2e"):
        through = _median([m * 1000 for s in balanced if (m := getattr(s, label)) is not None])
        straight = _median([m * 1000 for s in direct if (m := getattr(s, label)) is not None])
        figures[label] = (through, straight)
        print(f"  median {label.upper()}: balancer {through:.2f} ms, direct {straight:.2f} ms "
              f"({len(balanced)} / {len(direct)} requests)")  # fmt: skip
    targets.check("ttft_added_ms", figures["ttft"][0] - figures["ttft"][1], "<", 2.0, "ms")
    targets.check("itl_added_ms", figures["itl"][0] - figures["itl"][1], "<", 0.5, "ms")


def scaling(args: argparse.Namespace, work: Path, targets: Targets) -> None:
    name, port = f"bench-scale-{uuid.uuid4().hex[:6]}", _free_run(5)
    _start(name, port, work / "cache", ["limits.max_batch_size=4"])
    metrics = f"http://127.0.0.1:{port + 4}"
    load = [
        "--rate",
        str(args.rate),
        "--users",
        "256",
        "--duration",
        f"{args.duration}s",
        "--output-tokens",
        "24",
    ]
    try:
        _load(f"http://127.0.0.1:{port + 1}", work / "one", *load).wait(timeout=args.duration + 180)
        before = _responses(metrics)
        _load(f"http://127.0.0.1:{port}", work / "three", *load).wait(timeout=args.duration + 180)
        after = _responses(metrics)
    finally:
        lifecycle.down(name)
    slo = args.slo_ttft
    within = {run: sum(1 for s in _samples(work / run) if s.ok and s.ttft is not None and s.ttft <= slo)
              for run in ("one", "three")}  # fmt: skip
    shares = {s: after[s] - before[s] for s in after}
    total = sum(shares.values()) or 1.0
    print(f"  within TTFT {slo * 1000:.0f} ms at {args.rate:g} req/s: one replica {within['one']}, "
          f"three behind the balancer {within['three']}")  # fmt: skip
    print("  each replica's share: " + ", ".join(f"{s} {100 * n / total:.1f} %" for s, n in shares.items()))
    targets.check("scaling_ratio", within["three"] / max(1, within["one"]), ">=", 2.5, "x")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=20, help="seconds per load run (default 20)")
    parser.add_argument("--streams", type=int, default=64, help="concurrent streams in the overhead run")
    parser.add_argument("--rate", type=float, default=40.0, help="requests/s in the scaling runs")
    parser.add_argument("--slo-ttft", type=float, default=1.0, help="TTFT SLO in seconds (default 1)")
    parser.add_argument("--only", choices=["overhead", "scaling"], help="run one of the two parts")
    parser.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    args = parser.parse_args()
    targets = Targets("balancer_overhead", quiet=args.json)
    with tempfile.TemporaryDirectory(prefix="balancer-bench-") as tmp:
        work = Path(tmp)
        started = time.monotonic()
        if args.only in (None, "overhead"):
            overhead(args, work / "overhead", targets)
        if args.only in (None, "scaling"):
            scaling(args, work / "scaling", targets)
        print(f"  ({time.monotonic() - started:.0f} s)")
    if args.json:
        print(json.dumps([o.__dict__ for o in targets.outcomes], indent=2))
    return targets.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
