"""Pure: validated `Settings` -> `LaunchPlan`, everything one engine container needs, as plain comparable values.

No I/O and no Docker here: the runtime turns a plan into API calls, `docker_command` into a `docker run` line,
tests compare plans with `==`. The engine (`orchestrator.engines`) gives the command line and image layout for
its version; this module adds what any container needs (mounts, ports, GPUs, secrets, labels, healthcheck).

Choices worth knowing:
- Secrets never go in `environment` (it shows in `docker inspect`) nor in `command` (process lists, and TGI
  logs its arguments). Each secret becomes a `SecretFile` the runtime writes 0600 and mounts read-only; an
  entrypoint wrapper exports it into the launcher's own environment, so children (router, shards) inherit it.
  The HF token file also sits where huggingface_hub looks for a token (`$HF_HOME/token`).
- The shard count is always explicit. For `gpus=all` it comes from `host.num_shard`, else from `gpu_count`
  (the runtime asks the Docker Engine), else 1 with a warning.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field, replace

from pydantic import SecretStr

from orchestrator.config.gpus import GpuSelection
from orchestrator.config.settings import Settings
from orchestrator.config.validation import check
from orchestrator.config.validation import warnings as settings_warnings
from orchestrator.engines.base import EngineLaunch, LaunchValues
from orchestrator.launch.labels import label
from orchestrator.launch.settings_label import SETTINGS_LABEL, settings_label

__all__ = [
    "API_KEY_TARGET",
    "GpuRequest",
    "Healthcheck",
    "LaunchPlan",
    "Mount",
    "SecretFile",
    "build_plan",
    "wrapper_script",
]

API_KEY_TARGET = "/run/secrets/tgi-api-key"


@dataclass(frozen=True)
class Mount:
    """A bind mount: host `source` at container `target`."""

    source: str
    target: str
    read_only: bool


@dataclass(frozen=True)
class SecretFile:
    """A secret the runtime writes to a 0600 host file `name` and bind-mounts read-only at `target`.

    `env_var`, when set, is exported from the file by the entrypoint wrapper (never in the container config).
    """

    name: str
    target: str
    env_var: str | None
    value: SecretStr


@dataclass(frozen=True)
class GpuRequest:
    """A Docker device request; `count=-1` means all GPUs."""

    count: int | None
    device_ids: list[str] | None
    capabilities: list[list[str]]


@dataclass(frozen=True)
class Healthcheck:
    """Docker healthcheck; times in seconds (the runtime converts to nanoseconds)."""

    test: list[str]
    interval: float
    timeout: float
    start_period: float
    retries: int


@dataclass(frozen=True)
class LaunchPlan:
    """Everything needed to create the TGI container; contains no secret outside `secret_files`."""

    container_name: str
    image: str
    tgi_version: tuple[int, int, int]
    entrypoint: list[str] | None
    command: list[str]
    environment: dict[str, str]
    mounts: list[Mount]
    secret_files: list[SecretFile]
    container_port: int
    port_bindings: dict[str, tuple[str, int]]
    device_requests: list[GpuRequest]
    num_shard: int | None
    shm_size: str
    labels: dict[str, str]
    stop_timeout: int
    healthcheck: Healthcheck
    settings_hash: str
    warnings: list[str] = field(default_factory=list)
    engine: str = "tgi"
    """The engine kind (`orchestrator.engines.KINDS`)."""
    image_entrypoint: tuple[str, ...] = ()
    """What the image itself runs (the secret wrapper execs it)."""
    token_env: str = "HF_TOKEN"
    """The variable the engine reads the Hub token from."""


def build_plan(settings: Settings, *, gpu_count: int | None = None) -> LaunchPlan:
    """The launch plan for `settings`; `gpu_count` is the engine's GPU count when `gpus=all` (None: unknown).

    Raises `ConfigError` if the settings break a rule (they normally arrive validated from `load_settings`).
    """
    if not settings.validated:
        check(settings)
    version = settings.engine.version
    assert version is not None  # guaranteed by check()
    engine = settings.serving_engine
    warnings = settings_warnings(settings)
    num_shard = _num_shard(settings, gpu_count, warnings)
    launch = engine.launch(version, _launch_values(settings, num_shard))
    secret_files = _secret_files(settings, launch)
    plan = LaunchPlan(
        container_name=settings.host.container_name,
        image=settings.engine.image,
        tgi_version=version,
        entrypoint=_entrypoint(secret_files, launch),
        command=launch.command,
        environment=dict(launch.environment),
        mounts=[Mount(os.path.abspath(settings.cache_dir), launch.data_dir, read_only=False)],
        secret_files=secret_files,
        container_port=engine.container_port,
        port_bindings={f"{engine.container_port}/tcp": (settings.host.bind_address, settings.host.port)},
        device_requests=_device_requests(settings.host.gpu_selection),
        num_shard=num_shard,
        shm_size=settings.host.shm_size.lower(),
        labels={},
        stop_timeout=math.ceil(settings.timeouts.stop_grace),
        healthcheck=_healthcheck(settings, engine.container_port, engine.routes.health),
        settings_hash="",
        warnings=warnings,
        engine=engine.kind,
        image_entrypoint=launch.image_entrypoint,
        token_env=launch.token_env,
    )
    digest = _hash(plan)
    labels = {
        label("managed"): "true",
        label("engine"): engine.kind,
        label("name"): plan.container_name,
        label("model"): settings.model.id,
        label("tgi-version"): engine.format_version(version),
        label("settings-hash"): digest,
        label("port"): str(settings.host.port),
        label("bind-address"): settings.host.bind_address,
        label("gpus"): settings.host.gpus,
        SETTINGS_LABEL: settings_label(settings),
    }
    return replace(plan, labels=labels, settings_hash=digest)


def _num_shard(settings: Settings, gpu_count: int | None, warnings: list[str]) -> int:
    selection = settings.host.gpu_selection
    if settings.host.num_shard is not None:
        return settings.host.num_shard
    if selection.kind == "none":
        return 1
    if selection.count is not None:
        return selection.count
    if gpu_count:
        return gpu_count
    engine = settings.serving_engine
    flag = next((f for f, path in engine.owned_flags.items() if path == "host.num_shard"), "--num-shard")
    name = engine.name
    if gpu_count == 0:
        warnings.append(
            f"host.gpus=all but the Docker Engine reports no NVIDIA GPU: passing {flag} 1. Real {name} will not "
            "start without a GPU; use host.gpus=none for the emulator image."
        )
        return 1
    warnings.append(
        f"host.gpus=all but the GPU count is unknown here: passing {flag} 1 (one shard on the first GPU). "
        "Set host.num_shard to shard across more GPUs."
    )
    return 1


def _launch_values(settings: Settings, num_shard: int) -> LaunchValues:
    model = settings.model
    return LaunchValues(
        model_id=model.id,
        revision=model.revision,
        quantize=model.quantize,
        dtype=model.dtype,
        limits=settings.limits.model_dump(),
        num_shard=num_shard,
        usage_stats=settings.engine.usage_stats,
        extra_args=tuple(settings.engine.extra_args),
        stop_grace=settings.timeouts.stop_grace,
        startup_deadline=settings.timeouts.startup_deadline,
    )


def _secret_files(settings: Settings, launch: EngineLaunch) -> list[SecretFile]:
    files: list[SecretFile] = []
    if settings.secrets.hf_token is not None:
        files.append(SecretFile("hf-token", launch.token_file, launch.token_env, settings.secrets.hf_token))
    if settings.secrets.api_key is not None:
        files.append(SecretFile("tgi-api-key", API_KEY_TARGET, launch.api_key_env, settings.secrets.api_key))
    return files


def wrapper_script(secret_files: list[SecretFile]) -> str:
    """The `sh -c` script that exports each secret from its file, then execs the image's entrypoint ($0).

    `set -e` makes a missing or unreadable secret file stop the container instead of starting it without auth.
    """
    lines = ["set -e"]
    for secret in secret_files:
        if secret.env_var:
            lines.append(f'{secret.env_var}="$(cat {secret.target})"; export {secret.env_var}')
    lines.append('exec "$0" "$@"')
    return "; ".join(lines)


def _entrypoint(secret_files: list[SecretFile], launch: EngineLaunch) -> list[str] | None:
    if not any(secret.env_var for secret in secret_files):
        return None
    return ["/bin/sh", "-c", wrapper_script(secret_files), *launch.image_entrypoint]


def _device_requests(selection: GpuSelection) -> list[GpuRequest]:
    if selection.kind == "none":
        return []
    if selection.kind == "all":
        return [GpuRequest(count=-1, device_ids=None, capabilities=[["gpu"]])]
    return [GpuRequest(count=None, device_ids=list(selection.ids), capabilities=[["gpu"]])]


def _healthcheck(settings: Settings, container_port: int, health_path: str) -> Healthcheck:
    """`/health` from inside the container, with the image's Python or else curl (TGI images have both; the
    emulator image only Python). TGI opens its port only after warm-up, so the start period is the whole
    start-up deadline."""
    url = f"http://127.0.0.1:{container_port}{health_path}"
    probe = f"python3 -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=8)' {url}"
    return Healthcheck(
        test=["CMD-SHELL", f"{probe} 2>/dev/null || curl -fsS -o /dev/null --max-time 8 {url}"],
        interval=15.0,
        timeout=10.0,
        start_period=float(math.ceil(settings.timeouts.startup_deadline)),
        retries=3,
    )


def _hash(plan: LaunchPlan) -> str:
    """Stable digest of what shapes the container. Secret values are left out (a label is public), so a new
    secret value alone does not change it: recreate the deployment (`down`, `up`) after rotating a secret."""
    data = asdict(plan)
    for key in ("labels", "warnings", "settings_hash", "engine", "image_entrypoint", "token_env"):
        data.pop(key)
    data["secret_files"] = [(s.name, s.target, s.env_var) for s in plan.secret_files]
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
