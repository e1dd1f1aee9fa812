# Shared steps of the set-up scripts: system packages, the Docker Engine, the venv, the images.
# Sourced, not run. Every step is idempotent, so re-running a script on a prepared machine is fast.

log() { printf '\n==> %s\n' "$*"; }

install_system_packages() {
  local wanted=(docker.io debootstrap docker-registry prometheus docker-compose)
  local missing=()
  for pkg in "${wanted[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

start_docker_engine() {
  if docker info >/dev/null 2>&1; then return 0; fi
  log "starting dockerd"
  (nohup dockerd >/tmp/dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "dockerd did not answer within 60 s; see /tmp/dockerd.log" >&2
  tail -20 /tmp/dockerd.log >&2 || true
  return 1
}

make_venv() {
  local root="$1"
  if [ ! -x "$root/.venv/bin/python" ]; then
    log "creating $root/.venv"
    python3 -m venv "$root/.venv"
  fi
  # shellcheck disable=SC1091
  . "$root/.venv/bin/activate"
  log "installing tgi-orchestrator with all extras"
  python -m pip install -q --upgrade pip
  python -m pip install -q -e "$root[all]"
}

build_images() {
  local root="$1"
  log "building the base image (debootstrap, no registry)"
  bash "$root/.ci/make-base-image.sh"
  log "building the emulator images (TGI and vLLM personalities)"
  bash "$root/compose/build-emulator-image.sh"
}

prepare_machine() {
  # Everything both set-up commands need before their own job: packages, a running engine, the venv.
  local root="$1"
  install_system_packages
  start_docker_engine
  make_venv "$root"
}
