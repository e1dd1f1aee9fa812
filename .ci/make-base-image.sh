#!/usr/bin/env bash
# Builds the local base image (Debian bookworm with python3 + venv) without any registry, as the reference shows:
# debootstrap a minimal root file system, then `docker import` it. Skips the work when the image already exists.
set -euo pipefail
IMAGE="${1:-tgi-orchestrator/base:bookworm}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE already present"
  exit 0
fi
ROOT="$(mktemp -d /tmp/tgi-base.XXXXXX)"
trap 'rm -rf "$ROOT"' EXIT
echo "debootstrap bookworm into $ROOT (about a minute)"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$ROOT" >/tmp/debootstrap.log 2>&1 \
  || { tail -20 /tmp/debootstrap.log; exit 1; }
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
tar -C "$ROOT" -c . | docker import -c 'CMD ["/bin/bash"]' - "$IMAGE"
echo "built base image $IMAGE"
