#!/usr/bin/env bash
# Builds the emulator images without network access inside the build: the TGI personality (default
# tgi-orchestrator/emulator:3.3.7, run like TGI's image) and the vLLM personality (default
# tgi-orchestrator/emulator-vllm:0.33.0, run like vllm/vllm-openai: ENTRYPOINT ["vllm", "serve"]). Both come from
# one Dockerfile (targets `tgi` and `vllm`) and one wheelhouse:
# wheels for the project + its `emulator` extra are built on the host (host pip, PyPI), copied into a temporary
# build context and installed with `pip install --no-index`. The wheels must match the image's Python (3.11 on
# Debian bookworm, same as the host).
#
#   compose/build-emulator-image.sh                       # base tgi-orchestrator/base:bookworm (.ci/make-base-image.sh)
#   BASE_IMAGE=python:3.11-slim compose/build-emulator-image.sh
#   EMULATOR_IMAGE=my/emulator:dev PYTHON=python3.11 compose/build-emulator-image.sh
#   EMULATOR_VLLM_IMAGE=my/emulator-vllm:dev EMULATOR_TARGETS=vllm compose/build-emulator-image.sh   # vLLM only
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_IMAGE="${BASE_IMAGE:-tgi-orchestrator/base:bookworm}"
IMAGE="${EMULATOR_IMAGE:-tgi-orchestrator/emulator:3.3.7}"
VLLM_IMAGE="${EMULATOR_VLLM_IMAGE:-tgi-orchestrator/emulator-vllm:0.33.0}"
TARGETS="${EMULATOR_TARGETS:-tgi vllm}"
PYTHON="${PYTHON:-python3}"

CTX="$(mktemp -d /tmp/emulator-image.XXXXXX)"
trap 'rm -rf "$CTX"' EXIT

# Build from a clean copy of the sources so the shared working tree gets no build/ or *.egg-info droppings.
mkdir -p "$CTX/src"
cp "$ROOT/pyproject.toml" "$CTX/src/"
[ -f "$ROOT/README.md" ] && cp "$ROOT/README.md" "$CTX/src/" || touch "$CTX/src/README.md"
(cd "$ROOT" && tar --exclude='__pycache__' -cf - orchestrator) | tar -C "$CTX/src" -xf -

echo "building wheels for tgi-orchestrator[emulator] into $CTX/wheelhouse"
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check "$CTX/src[emulator]" -w "$CTX/wheelhouse"
rm -rf "$CTX/src"

for target in $TARGETS; do
  case "$target" in
    tgi) tag="$IMAGE" ;;
    vllm) tag="$VLLM_IMAGE" ;;
    *) echo "unknown EMULATOR_TARGETS entry: $target (use tgi, vllm)" >&2; exit 2 ;;
  esac
  echo "docker build $tag (target $target) on $BASE_IMAGE"
  docker build --build-arg BASE_IMAGE="$BASE_IMAGE" --target "$target" -t "$tag" \
    -f "$ROOT/compose/emulator.Dockerfile" "$CTX"
  docker image inspect "$tag" --format "built $tag ({{.Size}} bytes)"
done
