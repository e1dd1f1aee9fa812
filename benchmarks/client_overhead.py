"""Client overhead against the `instant` TGI emulator: latency, streamed events per CPU-second, memory.

    python benchmarks/client_overhead.py                 # starts an emulator on a free loopback port
    python benchmarks/client_overhead.py --url http://127.0.0.1:8080 --calls 3000

Prints, side by side in one run:
* generate latency (median, p99) of `TGIClient.generate`, a bare `httpx2` POST on the *same* connection pool, and
  plain `InferenceClient.text_generation`; ratios to both (target: median ratio to bare POST <= 1.10). Calls are
  interleaved round by round so drift of the shared machine hits all three alike.
* streamed events per second of client CPU time (`time.process_time`, i.e. on one core, whatever the emulator
  uses) for `TGIClient.stream` and `InferenceClient.text_generation(stream=True, details=True)` (target >= 2x).
* resident memory growth after 10,000 streamed calls on one `TGIClient` (target <= 5 MB), next to the size of
  huggingface_hub's `exit_stack` after the same number of streams on one `InferenceClient`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from _support import Targets, instant_emulator
from huggingface_hub import InferenceClient

from orchestrator.client import TGIClient

PROMPT = "[INST] Write one line about the sea. [/INST]"


@contextmanager
def emulator(url: str | None) -> Iterator[str]:
    """Use `url`, or start `python -m orchestrator.emulator` (instant profile) and stop it afterwards."""
    if url:
        yield url.rstrip("/")
        return
    with instant_emulator() as port:
        yield f"http://127.0.0.1:{port}"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(url: str, calls: int, tokens: int) -> dict[str, dict[str, float]]:
    client = TGIClient(url, preset=None)
    hf = InferenceClient(model=url + "/generate", timeout=60)
    body = json.dumps({"inputs": PROMPT, "parameters": {"max_new_tokens": tokens}}).encode()
    headers = {"content-type": "application/json"}
    pool = client.http

    def bare() -> str:
        response = pool.post(url + "/generate", content=body, headers=headers)
        response.raise_for_status()
        return str(json.loads(response.content)["generated_text"])

    def ours() -> str:
        return client.generate(PROMPT, max_new_tokens=tokens)

    def plain() -> str:
        return hf.text_generation(PROMPT, max_new_tokens=tokens)

    contenders: dict[str, Callable[[], str]] = {"bare httpx2 POST": bare, "TGIClient.generate": ours,
                                                 "InferenceClient.text_generation": plain}  # fmt: skip
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(50):  # warm-up: connections, tokenizer-free paths, caches
        for fn in contenders.values():
            fn()
    gc.collect()
    for _ in range(calls):
        for name, fn in contenders.items():
            started = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - started)
    client.close()
    return {
        name: {"median_ms": statistics.median(v) * 1e3, "p99_ms": _percentile(v, 0.99) * 1e3}
        for name, v in samples.items()
    }


def events_per_cpu_second(url: str, streams: int, tokens: int) -> dict[str, float]:
    client = TGIClient(url, preset=None)
    hf = InferenceClient(model=url + "/generate_stream", timeout=60)

    def ours() -> int:
        return sum(1 for _ in client.stream(PROMPT, max_new_tokens=tokens))

    def plain() -> int:
        count = sum(1 for _ in hf.text_generation(PROMPT, max_new_tokens=tokens, stream=True, details=True))
        hf.close()  # type: ignore[no-untyped-call]  # empties its exit stack, so this side is not slowed by growth either
        return count

    out: dict[str, float] = {}
    for name, fn in (("TGIClient.stream", ours), ("InferenceClient.text_generation(stream)", plain)):
        fn()
        cpu, wall, events = time.process_time(), time.perf_counter(), 0
        for _ in range(streams):
            events += fn()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        out[name] = events / cpu
        out[name + " (wall)"] = events / wall
        assert events == streams * tokens, (name, events)
    client.close()
    return out


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory(url: str, streams: int) -> dict[str, float]:
    client = TGIClient(url, preset=None)
    for _ in range(500):  # warm-up: pools, caches, allocator arenas
        for _event in client.stream(PROMPT, max_new_tokens=4):
            pass
    gc.collect()
    before = _rss_mb()
    for _ in range(streams):
        for _event in client.stream(PROMPT, max_new_tokens=4):
            pass
    gc.collect()
    after = _rss_mb()
    client.close()
    hf = InferenceClient(model=url + "/generate_stream", timeout=60)
    hf_streams = min(streams, 2000)
    for _ in range(hf_streams):
        for _chunk in hf.text_generation(PROMPT, max_new_tokens=4, stream=True, details=True):
            pass
    # What a long-lived InferenceClient keeps until close(): one exit-stack entry per stream.
    entries = len(hf.exit_stack._exit_callbacks)  # type: ignore[attr-defined]
    hf.close()  # type: ignore[no-untyped-call]
    return {"rss_before_mb": before, "rss_after_mb": after, "growth_mb": after - before,
            "hf_exit_stack_entries": float(entries), "hf_streams": float(hf_streams)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="an already running emulator (instant profile); default: start one")
    parser.add_argument("--calls", type=int, default=2000, help="latency samples per contender")
    parser.add_argument("--tokens", type=int, default=8, help="max_new_tokens for latency calls")
    parser.add_argument("--streams", type=int, default=200, help="streams per contender for events/s")
    parser.add_argument("--stream-tokens", type=int, default=256, help="tokens per stream for events/s")
    parser.add_argument(
        "--memory-streams", type=int, default=10_000, help="streamed calls for the memory check"
    )
    args = parser.parse_args()
    with emulator(args.url) as url:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # the client on one core
        lat = latency(url, args.calls, args.tokens)
        eps = events_per_cpu_second(url, args.streams, args.stream_tokens)
        mem = memory(url, args.memory_streams)

    bare, ours, plain = (
        lat["bare httpx2 POST"],
        lat["TGIClient.generate"],
        lat["InferenceClient.text_generation"],
    )
    print(f"generate latency over {args.calls} interleaved calls each (max_new_tokens={args.tokens}):")
    print(f"  {'contender':36} {'median ms':>10} {'p99 ms':>10}")
    for name, values in lat.items():
        print(f"  {name:36} {values['median_ms']:10.3f} {values['p99_ms']:10.3f}")
    ratio_median = ours["median_ms"] / bare["median_ms"]
    print(f"  TGIClient / bare httpx2:         median x{ratio_median:.3f}"
          f"  p99 x{ours['p99_ms'] / bare['p99_ms']:.3f}")  # fmt: skip
    print(f"  TGIClient / InferenceClient:     median x{ours['median_ms'] / plain['median_ms']:.3f}"
          f"  p99 x{ours['p99_ms'] / plain['p99_ms']:.3f}")  # fmt: skip
    ours_eps, plain_eps = eps["TGIClient.stream"], eps["InferenceClient.text_generation(stream)"]
    print(f"streamed events per client CPU-second ({args.streams} streams x {args.stream_tokens} tokens):")
    print(
        f"  TGIClient.stream                        {ours_eps:12,.0f}  (wall {eps['TGIClient.stream (wall)']:,.0f}/s)"
    )
    print(f"  InferenceClient.text_generation(stream) {plain_eps:12,.0f}  "
          f"(wall {eps['InferenceClient.text_generation(stream) (wall)']:,.0f}/s)")  # fmt: skip
    print(f"  ratio x{ours_eps / plain_eps:.2f}")
    print(f"memory after {args.memory_streams} streamed calls on one TGIClient:")
    print(
        f"  RSS {mem['rss_before_mb']:.1f} MB -> {mem['rss_after_mb']:.1f} MB, growth {mem['growth_mb']:+.2f} MB"
    )
    print(f"  (one InferenceClient after {int(mem['hf_streams'])} streams holds "
          f"{int(mem['hf_exit_stack_entries'])} exit-stack entries until close())")  # fmt: skip
    print("targets:")
    targets = Targets("client_overhead")
    targets.check("median_ratio_to_bare_post", ratio_median, "<=", 1.10, "x")
    targets.check("stream_events_ratio_to_inference_client", ours_eps / plain_eps, ">=", 2.0, "x")
    targets.check("rss_growth_mb", mem["growth_mb"], "<=", 5.0, "MB")
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
