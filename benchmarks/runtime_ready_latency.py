"""How long after the server starts answering `/health` with 200 does `up` report ready (target: < 250 ms)?

Each run starts a real deployment of the emulator image with `orchestrator.deploy.lifecycle.up` (warm-up of
`--warmup-seconds`, so the port opens at a distinct moment) while a separate thread probes `/health` on the
published port every 2 ms and records the first 200. The figure is `up`'s ready event minus that first 200; it
includes `up`'s one-token `/generate` check. The deployment is removed after each run. Prints min / median /
max and whether the worst run meets the target; exit code 1 when it misses.

    python benchmarks/runtime_ready_latency.py [--runs 5] [--image tgi-orchestrator/emulator:3.3.7]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _support import Targets, free_port


def _first_200(port: int, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
        try:
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                out.append(time.perf_counter())
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.002)


def one_run(image: str, warmup: float, cache: Path) -> float:
    """Seconds from the first `/health` 200 to `up`'s ready event, for one fresh deployment."""
    from orchestrator.config.loading import load_settings
    from orchestrator.deploy import lifecycle as deploy
    from orchestrator.deploy.readiness import ProgressEvent

    port = free_port()
    name = f"bench-ready-{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        {
            "engine.image": image,
            "engine.extra_args": ["--emulator-profile", "instant", "--emulator-warmup-seconds", str(warmup)],
            "host.gpus": "none",
            "host.port": port,
            "host.container_name": name,
            "host.cache_dir": str(cache),
        },
        env_file=None,
    )
    first: list[float] = []
    ready: list[float] = []
    stop = threading.Event()
    prober = threading.Thread(target=_first_200, args=(port, stop, first), daemon=True)
    prober.start()

    def on_event(event: ProgressEvent) -> None:
        if event.kind == "ready":
            ready.append(time.perf_counter())

    try:
        deploy.up(settings, progress=on_event)
        prober.join(5)
    finally:
        stop.set()
        deploy.down(name, grace=10)
    if not first or not ready:
        raise RuntimeError("no /health 200 or no ready event observed")
    return ready[0] - first[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image", default="tgi-orchestrator/emulator:3.3.7")
    parser.add_argument("--warmup-seconds", type=float, default=1.0)
    parser.add_argument("--target", type=float, default=0.250, help="seconds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        latencies = [one_run(args.image, args.warmup_seconds, Path(tmp)) for _ in range(args.runs)]
    worst = max(latencies)
    summary = {
        "runs": len(latencies),
        "min_ms": round(min(latencies) * 1000, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "max_ms": round(worst * 1000, 1),
        "target_ms": args.target * 1000,
    }
    targets = Targets("runtime_ready_latency", quiet=args.json)
    if not args.json:
        print(
            f"ready after first /health 200: min {summary['min_ms']} ms, median {summary['median_ms']} ms, "
            f"max {summary['max_ms']} ms over {summary['runs']} runs"
        )
    summary["meets_target"] = targets.check("max_ms", worst * 1000, "<", args.target * 1000, "ms")
    if args.json:
        print(json.dumps(summary))
    return targets.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
