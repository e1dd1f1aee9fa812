#!/usr/bin/env bash
# Runs every benchmark under benchmarks/ in turn and prints their figures (each also runs alone:
# `python benchmarks/<name>.py --help`). Needs the venv, a running Docker Engine and the emulator image
# (scripts/install-and-test.sh prepares all three). Exit code 1 when any benchmark misses its target.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
[ -x .venv/bin/python ] && . .venv/bin/activate
failed=()
for bench in cli_help emulator_throughput client_overhead load_capacity runtime_ready_latency runtime_status; do
  printf '\n==> benchmarks/%s.py\n' "$bench"
  python "benchmarks/$bench.py" || failed+=("$bench")
done
if ((${#failed[@]})); then
  printf '\nmissed a target or failed: %s\n' "${failed[*]}"
  exit 1
fi
printf '\nall benchmarks met their targets\n'
