"""Datasets and multi-turn sessions cost the load process no more than synthetic prompts, and stay as exact.

    python benchmarks/load_workloads.py [--duration 8] [--rounds 2] [--streams 64]

Two figures, each side by side with the synthetic prompts in the same run (rounds interleave the workloads, so a
busier moment of the machine does not land on one of them only):

1. Tokens per CPU-second of one Locust process (`taskset -c 0`), 64 streams of 200 tokens from the small streaming
   server of `load_capacity.py` (`taskset -c 1`), sending as fast as it can: synthetic prompts, a `--dataset`
   file (ShareGPT lines), and `--turns 4` sessions (every reply kept and sent back). Figure: each workload's median
   over the rounds / the synthetic one's. Target: >= 0.80 (issue 16).
2. TTFT error at 64 streams against the emulator's own record (`--emulator-profile a100-awq`, on core 1): per
   request, when our user timed its first token - when the emulator handed that token to the socket (its record's
   `arrival_unix + ttft_sent_s`; one machine clock). Requests are matched by the last `Request NNNNNNNN:` of the
   prompt the emulator tokenized (a session's newest turn). Target: median < 1 ms for each workload.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

from _support import Targets, instant_emulator
from load_capacity import Server, run_locust

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from orchestrator.load.figures import percentile  # noqa: E402
from orchestrator.load.report import read_samples  # noqa: E402
from orchestrator.tokens import get_tokenizer  # noqa: E402

_NUMBER = re.compile(r"Request (\d{8}):")
_FILLER = " ".join(["the quick brown fox jumps over the lazy dog"] * 5)


def write_dataset(path: Path, rows: int = 4000) -> Path:
    """ShareGPT lines whose prompts carry their line number as `Request NNNNNNNN:` (how requests are matched)."""
    with path.open("w", encoding="utf-8") as fh:
        for line in range(1, rows + 1):
            turns = [
                {"from": "human", "value": f"Request {line:08d}: {_FILLER}"},
                {"from": "gpt", "value": "ok"},
            ]
            fh.write(json.dumps({"conversations": turns}) + "\n")
    return path


def workloads(dataset: Path) -> dict[str, tuple[str, ...]]:
    return {
        "synthetic": (),
        "dataset": ("--dataset", str(dataset), "--output-from", "flags"),
        "multi-turn": ("--turns", "4"),
    }


def tokens_per_cpu_second(dataset: Path, duration: float, rounds: int, work: Path) -> dict[str, list[float]]:
    server = Server(ttft=0.0, itl=0.0)
    figures: dict[str, list[float]] = {name: [] for name in workloads(dataset)}
    try:
        for r in range(rounds):
            for name, options in workloads(dataset).items():
                summary = run_locust(server.url, 64, duration, work / f"cpu-{name}-{r}", "--input-tokens", "64",
                                     "--output-tokens", "200", *options)  # fmt: skip
                figures[name].append(float(summary["load_generator"]["token_events_per_cpu_s"] or 0.0))
    finally:
        server.stop()
    return figures


EMULATOR_ARGS = ("--max-batch-size", "256")
"""Room for every stream in one batch (with the A100 latency profile)."""


def first_tokens(url: str) -> dict[int, float]:
    """Request number -> when the emulator handed its first token to the socket (Unix s), from its record; numbers
    seen twice are left out (they cannot be matched). Clears the record for the next run."""
    tok = get_tokenizer()
    with urllib.request.urlopen(f"{url}/emulator/requests", timeout=30) as resp:
        records = json.loads(resp.read())["requests"]
    urllib.request.urlopen(
        urllib.request.Request(f"{url}/emulator/requests", method="DELETE"), timeout=10
    ).close()
    out: dict[int, float] = {}
    twice: set[int] = set()
    for record in records:
        numbers = _NUMBER.findall(tok.decode(record["input_ids"]))
        if not numbers or record["ttft_sent_s"] is None:
            continue
        number = int(numbers[-1])
        if number in out:
            twice.add(number)
        out[number] = record["arrival_unix"] + record["ttft_sent_s"]
    return {n: t for n, t in out.items() if n not in twice}


def ttft_errors(dataset: Path, streams: int, duration: float, work: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with instant_emulator(
        profile="a100-awq", args=EMULATOR_ARGS
    ) as port:  # on the last core; the Locust process on core 0
        url = f"http://127.0.0.1:{port}"
        for name, options in workloads(dataset).items():
            report = work / f"ttft-{name}"
            run_locust(
                url, streams, duration, report, "--input-tokens", "64", "--output-tokens", "32", *options
            )
            written = first_tokens(url)
            errors = sorted(
                (s.start_at + s.ttft) - written[s.prompt_id]
                for s in read_samples(report / "samples.jsonl")
                if s.ok and s.ttft is not None and s.prompt_id in written
            )
            out[name] = {"matched": float(len(errors))}
            if errors:
                out[name].update({f"p{q}_ms": percentile(errors, q) * 1000 for q in (50, 95, 99)})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per Locust run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the tokens/CPU-s runs")
    parser.add_argument("--streams", type=int, default=64, help="concurrent streams of the TTFT-error runs")
    args = parser.parse_args()
    targets = Targets("load_workloads")
    with tempfile.TemporaryDirectory(prefix="load-workloads-") as tmp:
        work = Path(tmp)
        dataset = write_dataset(work / "sharegpt.jsonl")
        cpu = tokens_per_cpu_second(dataset, args.duration, args.rounds, work)
        base = statistics.median(cpu["synthetic"])
        for name, values in cpu.items():
            ratio = statistics.median(values) / base if base else 0.0
            print(f"{name:>10}: tokens per CPU-second {', '.join(f'{v:,.0f}' for v in values)} "
                  f"(median {statistics.median(values):,.0f}; {ratio:.2f} of synthetic)")  # fmt: skip
            if name != "synthetic":
                targets.check(f"{name}_tokens_per_cpu_s_vs_synthetic", ratio, ">=", 0.80, "x synthetic")
        errors = ttft_errors(dataset, args.streams, args.duration, work)
        for name, e in errors.items():
            if not e["matched"]:
                print(f"{name:>10}: no request matched the emulator's record")
                targets.check(f"{name}_ttft_error_median_ms", float("inf"), "<", 1.0, "ms")
                continue
            print(f"{name:>10}: TTFT error vs the emulator's record at {args.streams} streams: p50 {e['p50_ms']:.3f} "
                  f"ms, p95 {e['p95_ms']:.3f} ms, p99 {e['p99_ms']:.3f} ms over {e['matched']:.0f} requests")  # fmt: skip
            targets.check(f"{name}_ttft_error_median_ms", abs(e["p50_ms"]), "<", 1.0, "ms")
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
