#!/usr/bin/env bash
# Fresh machine -> a running deployment: system packages, Docker Engine, venv, then `orchestrator up`.
# With an NVIDIA runtime it launches the real TGI image on the GPUs; without one it builds and launches the
# TGI emulator image through exactly the same code path (`--gpus none`). Then it runs the smoke checks.
# Needs root (apt-get, dockerd). Stop the deployment with: .venv/bin/orchestrator down
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

prepare_machine "$ROOT"

if docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q nvidia; then
  log "NVIDIA runtime found: launching TGI on the GPUs"
  orchestrator up "$@"
else
  log "no NVIDIA runtime: launching the TGI emulator image instead (same code path, no GPU)"
  build_images "$ROOT"
  orchestrator up --image tgi-orchestrator/emulator:3.3.7 --gpus none --no-pull "$@"
fi
orchestrator status
orchestrator smoke
log "deployment is up: $(orchestrator status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["endpoint"])' 2>/dev/null || echo 'see orchestrator status')"
echo "stop it with: $ROOT/.venv/bin/orchestrator down"
