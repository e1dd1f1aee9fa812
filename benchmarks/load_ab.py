"""A/B costs the load generator nothing measurable: tokens parsed per CPU-second, and TTFT error, side by side.

    python benchmarks/load_ab.py [--duration 6] [--rounds 2]

Against the streaming servers of `load_capacity.py` (one per endpoint, pinned to the other core), one Locust
process pinned to one core runs, alternately, an ordinary run of 64 streams against one server and an A/B run of
32 users per endpoint (`--url-b`: 64 streams in all, the same process). Figures:

1. tokens per CPU-second of the A/B run / of the ordinary run (the median over the rounds). Target >= 0.8.
2. TTFT error of the A/B run at 64 streams (TTFT 50 ms, a token every 25 ms): when our user timed each first
   token - when its server wrote it, matched per endpoint by the prompt's request number. Target: the median of
   its absolute value < 1 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from _support import Targets
from load_capacity import _TTFT, Server, _pin, _spread, run_locust

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from orchestrator.load.report import read_samples  # noqa: E402

_LENGTHS = ("--input-tokens", "64", "--output-tokens", "200")


def _rate(summary: dict[str, Any]) -> float:
    return float(summary["load_generator"]["token_events_per_cpu_s"])


def efficiency(duration: float, rounds: int, work: Path) -> tuple[list[float], list[float]]:
    a, b = Server(ttft=0.0, itl=0.0), Server(ttft=0.0, itl=0.0)
    plain: list[float] = []
    ab: list[float] = []
    try:
        for i in range(rounds):
            plain.append(_rate(run_locust(a.url, 64, duration, work / f"plain-{i}", *_LENGTHS)))
            ab.append(_rate(run_locust(a.url, 32, duration, work / f"ab-{i}", "--url-b", b.url, *_LENGTHS)))
    finally:
        a.stop()
        b.stop()
    return plain, ab


def ab_ttft_error(duration: float, work: Path) -> dict[str, Any]:
    servers = {"a": Server(ttft=_TTFT, itl=0.025), "b": Server(ttft=_TTFT, itl=0.025)}
    out = work / "ab-ttft"
    try:
        run_locust(servers["a"].url, 32, duration, out, "--url-b", servers["b"].url,
                   "--input-tokens", "64", "--output-tokens", "64")  # fmt: skip
        written = {t: s.first_tokens() for t, s in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    errors = [
        s.start_at + s.ttft - written[s.target][s.prompt_id][1]
        for s in read_samples(out / "samples.jsonl")
        if s.ok and s.ttft is not None and s.prompt_id in written.get(s.target, {})
    ]
    per_target = {t: sum(1 for s in read_samples(out / "samples.jsonl") if s.target == t) for t in servers}
    spread = _spread([abs(e) for e in errors]) if errors else {}
    return {"matched": len(errors), "per_target": per_target, **spread}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per Locust run")
    parser.add_argument("--rounds", type=int, default=2, help="ordinary/A-B pairs, run alternately")
    args = parser.parse_args()
    if not _pin(1):
        print("warning: taskset or a second core is missing: processes are not pinned", file=sys.stderr)
    targets = Targets("load_ab")
    with tempfile.TemporaryDirectory(prefix="load-ab-") as tmp:
        work = Path(tmp)
        plain, ab = efficiency(args.duration, args.rounds, work)
        ratios = [x / y for x, y in zip(ab, plain, strict=True)]
        print("tokens per CPU-second, ordinary run: " + ", ".join(f"{v:,.0f}" for v in plain))
        print("tokens per CPU-second, A/B run:      " + ", ".join(f"{v:,.0f}" for v in ab))
        targets.check("ab_tokens_per_cpu_s_ratio", statistics.median(ratios), ">=", 0.8, "x ordinary")
        r = ab_ttft_error(args.duration, work)
        print(
            f"A/B TTFT |error| at 64 streams: {r['matched']} requests matched (samples per endpoint: {r['per_target']})"
        )
        if r["matched"]:
            print(f"      p50 {r['p50_ms']:.3f} ms, p95 {r['p95_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms")
        targets.check("ab_ttft_error_p50_ms", r.get("p50_ms", float("inf")), "<", 1.0, "ms")
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
