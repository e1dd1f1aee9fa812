#!/usr/bin/env bash
# Runs every benchmark under benchmarks/ in turn and prints their figures (each also runs alone:
# `python benchmarks/<name>.py --help`), then a table of every target met or missed. Needs the venv, a running
# Docker Engine and the emulator image (scripts/install-and-test.sh prepares all three).
# BENCHMARKS="cli_help load_capacity" runs only those. Exit code 1 when any benchmark misses a target or fails.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
[ -x .venv/bin/python ] && . .venv/bin/activate
ALL="cli_help emulator_throughput client_overhead load_capacity load_workloads load_ab arrival_stamp runtime_ready_latency runtime_status doctor_speed balancer_overhead pull_throughput"
results="$(mktemp "${TMPDIR:-/tmp}/benchmark-results.XXXXXX")"
trap 'rm -f "$results"' EXIT
export BENCHMARK_RESULTS="$results"
for bench in ${BENCHMARKS:-$ALL}; do
  printf '\n==> benchmarks/%s.py\n' "$bench"
  python "benchmarks/$bench.py"
  printf '{"benchmark": "%s", "exit": %d}\n' "$bench" "$?" >>"$results"
done
printf '\n'
python benchmarks/_support.py table "$results"
