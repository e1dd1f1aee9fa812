"""Emulator capacity benchmark: streamed tokens/s, non-streamed requests/s, RSS with 1,000 open streams.

    python benchmarks/emulator_throughput.py [--engine tgi,vllm] [--duration 10] [--no-pin]

For each engine personality in turn (TGI and vLLM by default, side by side in the same run), starts one emulator
process (`instant` profile) pinned to CPU 0 with `taskset`, and drives it from this process pinned to CPU 1. TGI is
driven on `/generate_stream` and `/generate`, vLLM on `/v1/completions` streamed and not (its `data: [DONE]`
events are not counted as tokens). Figures of the vLLM personality are named `vllm_<figure>`. Load generator: a purpose-built asyncio (uvloop) raw-socket HTTP/1.1 client (keep-alive
connections, requests written as bytes, responses parsed by Content-Length / chunked framing, SSE events counted by
their `data:` prefix) - a Python client fast enough not to be the bottleneck on one core.

Targets (issue 3, and issue 12 for vLLM): >= 30,000 streamed tokens/s across 256 concurrent streaming clients,
>= 2,000 non-streamed requests/s, < 200 MB RSS with 1,000 open streams, for each personality.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from _support import Targets, free_port

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Personality:
    """How to start one engine personality of the emulator and what to ask it."""

    name: str
    prefix: str  # of its figures' names ("" for TGI, whose names predate the second engine)
    stream_path: str
    generate_path: str

    def command(self, port: int, extra: list[str]) -> list[str]:
        if self.name == "vllm":
            return [sys.executable, "-m", "orchestrator.emulator", "--engine", "vllm",
                    "TheBloke/Mistral-7B-Instruct-v0.2-AWQ", "--host", HOST, "--port", str(port),
                    "--max-model-len", "4096", "--max-num-seqs", "4096", "--max-num-batched-tokens", "8192",
                    "--emulator-record-limit", "1000", *extra]  # fmt: skip
        return [sys.executable, "-m", "orchestrator.emulator", "--port", str(port), "--hostname", HOST,
                "--max-concurrent-requests", "4096", "--max-total-tokens", "4096", "--max-input-tokens", "4000",
                "--emulator-record-limit", "1000", *extra]  # fmt: skip

    def payload(self, prompt: str, new_tokens: int, *, stream: bool) -> dict[str, object]:
        if self.name == "vllm":
            return {"prompt": prompt, "max_tokens": new_tokens, "stream": stream}
        return {"inputs": prompt, "parameters": {"max_new_tokens": new_tokens}}

    def slow_extra(self) -> list[str]:
        """Arguments of the slow (a100-awq) emulator holding 1,000 streams of 2,000 tokens."""
        common = ["--emulator-profile", "a100-awq", "--emulator-kv-cache-tokens", "4000000"]
        if self.name == "vllm":
            return [*common, "--max-num-batched-tokens", "16384", "--shutdown-timeout", "0"]
        return [*common, "--max-batch-prefill-tokens", "16384", "--graceful-termination-timeout", "1"]


PERSONALITIES = {
    "tgi": Personality("tgi", "", "/generate_stream", "/generate"),
    "vllm": Personality("vllm", "vllm_", "/v1/completions", "/v1/completions"),
}


def start_emulator(engine: Personality, port: int, pin: bool, extra: list[str]) -> subprocess.Popen[bytes]:
    command = engine.command(port, extra)
    if pin and shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - the child writes to it for its whole life
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    process.wait()
    errors.seek(0)
    error = errors.read().decode(errors="replace")[-2000:]
    raise RuntimeError(f"the {engine.name} emulator did not become healthy: {error}")


def request_bytes(path: str, payload: dict[str, object], port: int) -> bytes:
    body = json.dumps(payload).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")  # fmt: skip
    return head.encode() + body


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            key, value = line.split(b":", 1)
            headers[key.strip().lower()] = value.strip()
    return status, headers


async def generate_worker(port: int, request: bytes, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            status, headers = await _read_head(reader)
            await reader.readexactly(int(headers[b"content-length"]))
            counts[0 if status == 200 else 1] += 1
    finally:
        writer.close()


async def stream_worker(port: int, request: bytes, stop_at: float, counts: list[int]) -> None:
    """Loop streamed requests on one connection, counting `data:` events (one per token; `[DONE]` is not one)."""
    reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            await _read_head(reader)
            while True:  # chunked transfer encoding
                size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
                if size == 0:
                    await reader.readexactly(2)
                    break
                chunk = await reader.readexactly(size + 2)
                counts[0] += chunk.count(b"data:") - chunk.count(b"data: [DONE]")
            counts[1] += 1
    finally:
        writer.close()


async def measure_streams(
    engine: Personality, port: int, clients: int, duration: float, new_tokens: int
) -> float:
    payload = engine.payload("Tell me a story about a robot.", new_tokens, stream=True)
    request = request_bytes(engine.stream_path, payload, port)
    counts = [0, 0]
    warm = time.perf_counter() + 1.0
    await asyncio.gather(*(stream_worker(port, request, warm, [0, 0]) for _ in range(clients)))
    start = time.perf_counter()
    await asyncio.gather(*(stream_worker(port, request, start + duration, counts) for _ in range(clients)))
    elapsed = time.perf_counter() - start
    return counts[0] / elapsed


async def measure_generate(
    engine: Personality, port: int, connections: int, duration: float
) -> tuple[float, int]:
    request = request_bytes(engine.generate_path, engine.payload("Hello", 8, stream=False), port)
    counts = [0, 0]
    warm = time.perf_counter() + 1.0
    await asyncio.gather(*(generate_worker(port, request, warm, [0, 0]) for _ in range(connections)))
    start = time.perf_counter()
    await asyncio.gather(
        *(generate_worker(port, request, start + duration, counts) for _ in range(connections))
    )
    elapsed = time.perf_counter() - start
    return counts[0] / elapsed, counts[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure_open_streams(engine: Personality, port: int, pid: int, streams: int) -> tuple[float, int]:
    """Open `streams` slow streams (a100-awq emulator: ~9 ms/token, 2,000 tokens), read their first event, then
    sample the emulator's RSS while all are open."""
    request = request_bytes(engine.stream_path, engine.payload("Hi", 2000, stream=True), port)
    opened = 0
    writers = []

    async def open_one() -> None:
        nonlocal opened
        reader, writer = await asyncio.open_connection(HOST, port)
        writers.append(writer)
        writer.write(request)
        await _read_head(reader)
        await reader.readuntil(b"data:")
        opened += 1

    await asyncio.gather(*(open_one() for _ in range(streams)))
    await asyncio.sleep(1.0)
    rss = rss_mb(pid)
    for writer in writers:
        writer.close()
    return rss, opened


def measure(
    engine: Personality, args: argparse.Namespace, results: dict[str, object], targets: Targets
) -> None:
    """One personality's three figures, checked against the targets."""
    import uvloop

    pin = not args.no_pin
    name = engine.prefix
    port = free_port()
    emulator = start_emulator(engine, port, pin, [])
    try:
        tokens_per_s = uvloop.run(measure_streams(engine, port, args.stream_clients, args.duration, 256))
        results[f"{name}stream_tokens_per_s"] = round(tokens_per_s)
        requests_per_s, errors = uvloop.run(
            measure_generate(engine, port, args.generate_connections, args.duration)
        )
        results[f"{name}generate_requests_per_s"] = round(requests_per_s)
        results[f"{name}generate_errors"] = errors
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=30)
    port = free_port()
    emulator = start_emulator(engine, port, pin, engine.slow_extra())
    try:
        rss, opened = uvloop.run(measure_open_streams(engine, port, emulator.pid, args.open_streams))
        results[f"{name}rss_mb_open_streams"] = round(rss, 1)
        results[f"{name}open_streams"] = opened
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=120)
    targets.check(f"{name}stream_tokens_per_s", tokens_per_s, ">=", 30_000, "tokens/s")
    targets.check(f"{name}generate_requests_per_s", requests_per_s, ">=", 2_000, "req/s")
    targets.check(f"{name}rss_mb_open_streams", rss, "<", 200, "MB")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", default="tgi,vllm",
                        help="comma-separated personalities to measure, in order: tgi, vllm (default both)")  # fmt: skip
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--stream-clients", type=int, default=256)
    parser.add_argument("--generate-connections", type=int, default=64)
    parser.add_argument("--open-streams", type=int, default=1000)
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    args = parser.parse_args()
    engines = [name.strip() for name in args.engine.split(",") if name.strip()]
    unknown = [name for name in engines if name not in PERSONALITIES]
    if unknown or not engines:
        parser.error(f"--engine {args.engine!r}: choose from {', '.join(PERSONALITIES)} (comma-separated)")
    if not args.no_pin and shutil.which("taskset"):
        os.sched_setaffinity(0, {1})
    results: dict[str, object] = {"load_generator": "asyncio (uvloop) raw-socket HTTP/1.1 client, 1 process"}
    targets = Targets("emulator_throughput")
    for name in engines:
        measure(PERSONALITIES[name], args, results, targets)
    if {"tgi", "vllm"} <= set(engines):  # side by side: how the vLLM personality compares in this same run
        figures = ("stream_tokens_per_s", "generate_requests_per_s", "rss_mb_open_streams")
        results["vllm_to_tgi"] = {f: round(float(results[f"vllm_{f}"]) / float(results[f]), 2)  # type: ignore[arg-type]
                                  for f in figures if results.get(f)}  # fmt: skip
    print(json.dumps(results, indent=2))
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
