"""How long does `orchestrator status` take with a deployment running (target: < 0.5 s)?

Starts one emulator deployment (or uses `--name` of a running one), then times `orchestrator status` as a fresh
process (interpreter start, imports, engine calls, `/health`, `/info` and `/metrics` probes) and, separately,
the in-process library call `orchestrator.deploy.status()`. One untimed warm-up run each. Prints min / median /
max; exit code 1 when the CLI median misses the target.

    python benchmarks/runtime_status.py [--runs 10] [--image tgi-orchestrator/emulator:3.3.7] [--name NAME]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _support import Targets, free_port


def _stats(times: list[float]) -> dict[str, float]:
    return {
        "min_ms": round(min(times) * 1000, 1),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    from orchestrator.config.loading import load_settings
    from orchestrator.deploy import lifecycle as deploy

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--image", default="tgi-orchestrator/emulator:3.3.7")
    parser.add_argument("--name", default=None, help="use this running deployment instead of starting one")
    parser.add_argument("--target", type=float, default=0.5, help="seconds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    started = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.name is None:
            started = f"bench-status-{uuid.uuid4().hex[:8]}"
            deploy.up(
                load_settings(
                    {
                        "engine.image": args.image,
                        "engine.extra_args": ["--emulator-profile", "instant"],
                        "host.gpus": "none",
                        "host.port": free_port(),
                        "host.container_name": started,
                        "host.cache_dir": str(Path(tmp) / "cache"),
                    },
                    env_file=None,
                )
            )
        name = args.name or started
        assert name is not None
        command = [str(Path(sys.executable).with_name("orchestrator")), "status", "--name", name]
        try:
            subprocess.run(command, check=True, capture_output=True)
            cli: list[float] = []
            for _ in range(args.runs):
                begin = time.perf_counter()
                out = subprocess.run(command, check=True, capture_output=True, text=True)
                cli.append(time.perf_counter() - begin)
                if "ready" not in out.stdout:
                    raise RuntimeError(f"status did not show the deployment ready:\n{out.stdout}")
            deploy.status(name)
            library: list[float] = []
            for _ in range(args.runs):
                begin = time.perf_counter()
                deploy.status(name)
                library.append(time.perf_counter() - begin)
        finally:
            if started is not None:
                deploy.down(started, grace=10)
    summary = {
        "cli": _stats(cli),
        "library": _stats(library),
        "runs": args.runs,
        "target_ms": args.target * 1000,
    }
    targets = Targets("runtime_status", quiet=args.json)
    if not args.json:
        c, lib = summary["cli"], summary["library"]
        assert isinstance(c, dict) and isinstance(lib, dict)
        print(
            f"orchestrator status (fresh process): min {c['min_ms']} ms, median {c['median_ms']} ms, "
            f"max {c['max_ms']} ms; deploy.status() in-process: median {lib['median_ms']} ms"
        )
    summary["meets_target"] = targets.check(
        "cli_median_ms", statistics.median(cli) * 1000, "<", args.target * 1000, "ms"
    )
    if args.json:
        print(json.dumps(summary))
    return targets.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
