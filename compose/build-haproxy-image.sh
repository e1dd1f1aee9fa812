#!/usr/bin/env bash
# Builds the HAProxy balancer image (default tgi-orchestrator/haproxy:2.6.12) without network access inside the
# build: the host's apt downloads exactly the .debs the base image lacks (resolved against the base image's own
# dpkg status), they are copied into a temporary build context and installed with dpkg. Skips when the image exists.
#
#   compose/build-haproxy-image.sh                          # base tgi-orchestrator/base:bookworm (.ci/make-base-image.sh)
#   HAPROXY_IMAGE=my/haproxy:dev BASE_IMAGE=... compose/build-haproxy-image.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_IMAGE="${BASE_IMAGE:-tgi-orchestrator/base:bookworm}"
IMAGE="${HAPROXY_IMAGE:-tgi-orchestrator/haproxy:2.6.12}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "balancer image $IMAGE already present"
  exit 0
fi
CTX="$(mktemp -d /tmp/haproxy-image.XXXXXX)"
PEEK="haproxy-image-peek-$$"
trap 'rm -rf "$CTX"; docker rm -f "$PEEK" >/dev/null 2>&1 || true' EXIT
docker create --name "$PEEK" "$BASE_IMAGE" >/dev/null
docker cp "$PEEK:/var/lib/dpkg/status" "$CTX/base-status"
mkdir -p "$CTX/debs/partial"
echo "downloading haproxy and the packages $BASE_IMAGE lacks"
apt-get install -y -qq --no-install-recommends --download-only \
  -o Dir::State::status="$CTX/base-status" -o Dir::Cache::archives="$CTX/debs" -o Debug::NoLocking=1 haproxy
rm -rf "$CTX/debs/partial" "$CTX/debs/lock"
ls "$CTX/debs"/haproxy_*.deb >/dev/null
echo "docker build $IMAGE on $BASE_IMAGE"
docker build --network none --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" -f "$ROOT/compose/haproxy.Dockerfile" "$CTX"
docker image inspect "$IMAGE" --format "built $IMAGE ({{.Size}} bytes)"
