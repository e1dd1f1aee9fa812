#!/usr/bin/env bash
# Fresh machine -> all checks: system packages, Docker Engine, venv, images, then ruff, mypy --strict and pytest.
# Needs root (apt-get, dockerd). CI runs exactly this through .ci/run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

prepare_machine "$ROOT"
build_images "$ROOT"

log "ruff"
ruff check .
ruff format --check .
log "mypy --strict"
mypy
log "pytest"
pytest -ra "$@"
