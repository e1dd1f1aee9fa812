"""Pure: validated `Settings` -> `LaunchPlan`, everything one TGI container needs, as plain comparable values.

No I/O and no Docker here: the runtime turns a plan into API calls, `docker_command` into a `docker run` line,
tests compare plans with `==`. Version differences come from `orchestrator.versions`.

Choices worth knowing:
- Secrets never go in `environment` (it shows in `docker inspect`) nor in `command` (process lists, and TGI
  logs its arguments). Each secret becomes a `SecretFile` the runtime writes 0600 and mounts read-only; an
  entrypoint wrapper exports it into the launcher's own environment, so children (router, shards) inherit it.
  The HF token file also sits where huggingface_hub looks for a token (`$HF_HOME/token`).
- `--num-shard` is always explicit (TGI counts `all` as one GPU before v3.3.7). For `gpus=all` the count comes
  from `host.num_shard`, else from `gpu_count` (the runtime asks the engine), else 1 with a warning.
- `--hostname 0.0.0.0` is explicit: Docker sets HOSTNAME to the container id, which TGI would pick up.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field, replace

from pydantic import SecretStr

from orchestrator.gpus import parse_gpus
from orchestrator.settings import Settings
from orchestrator.settings_label import SETTINGS_LABEL, settings_label
from orchestrator.validation import check
from orchestrator.validation import warnings as settings_warnings
from orchestrator.versions import DTYPE_COMPATIBLE_QUANTIZE, TgiFacts, facts_for, format_version

__all__ = [
    "API_KEY_TARGET",
    "CONTAINER_PORT",
    "LABEL_PREFIX",
    "GpuRequest",
    "Healthcheck",
    "LaunchPlan",
    "Mount",
    "SecretFile",
    "build_plan",
    "wrapper_script",
]

CONTAINER_PORT = 80
"""TGI images set PORT=80 [reference §7]; we pass `--port 80` so custom images agree."""
DATA_DIR = "/data"
API_KEY_TARGET = "/run/secrets/tgi-api-key"
LABEL_PREFIX = "org.tgi-orchestrator"


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


def build_plan(settings: Settings, *, gpu_count: int | None = None) -> LaunchPlan:
    """The launch plan for `settings`; `gpu_count` is the engine's GPU count when `gpus=all` (None: unknown).

    Raises `ConfigError` if the settings break a rule (they normally arrive validated from `load_settings`).
    """
    check(settings)
    version = settings.engine.version
    assert version is not None  # guaranteed by check()
    facts = facts_for(version)
    warnings = settings_warnings(settings)
    num_shard = _num_shard(settings, gpu_count, warnings)
    secret_files = _secret_files(settings, facts)
    entrypoint = _entrypoint(secret_files, facts)
    plan = LaunchPlan(
        container_name=settings.host.container_name,
        image=settings.engine.image,
        tgi_version=version,
        entrypoint=entrypoint,
        command=_command(settings, facts, num_shard),
        environment={facts.cache_env: DATA_DIR},
        mounts=[Mount(os.path.abspath(settings.cache_dir), DATA_DIR, read_only=False)],
        secret_files=secret_files,
        container_port=CONTAINER_PORT,
        port_bindings={f"{CONTAINER_PORT}/tcp": (settings.host.bind_address, settings.host.port)},
        device_requests=_device_requests(settings.host.gpus),
        num_shard=num_shard,
        shm_size=settings.host.shm_size.lower(),
        labels={},
        stop_timeout=math.ceil(settings.timeouts.stop_grace),
        healthcheck=_healthcheck(settings),
        settings_hash="",
        warnings=warnings,
    )
    digest = _hash(plan)
    labels = {
        f"{LABEL_PREFIX}.managed": "true",
        f"{LABEL_PREFIX}.name": plan.container_name,
        f"{LABEL_PREFIX}.model": settings.model.id,
        f"{LABEL_PREFIX}.tgi-version": format_version(version),
        f"{LABEL_PREFIX}.settings-hash": digest,
        f"{LABEL_PREFIX}.port": str(settings.host.port),
        f"{LABEL_PREFIX}.bind-address": settings.host.bind_address,
        f"{LABEL_PREFIX}.gpus": settings.host.gpus,
        SETTINGS_LABEL: settings_label(settings),
    }
    return replace(plan, labels=labels, settings_hash=digest)


def _num_shard(settings: Settings, gpu_count: int | None, warnings: list[str]) -> int:
    selection = parse_gpus(settings.host.gpus)
    if settings.host.num_shard is not None:
        return settings.host.num_shard
    if selection.kind == "none":
        return 1
    if selection.count is not None:
        return selection.count
    if gpu_count:
        return gpu_count
    if gpu_count == 0:
        warnings.append(
            "host.gpus=all but the Docker Engine reports no NVIDIA GPU: passing --num-shard 1. Real TGI will not "
            "start without a GPU; use host.gpus=none for the emulator image."
        )
        return 1
    warnings.append(
        "host.gpus=all but the GPU count is unknown here: passing --num-shard 1 (one shard on the first GPU). "
        "Set host.num_shard to shard across more GPUs."
    )
    return 1


def _command(settings: Settings, facts: TgiFacts, num_shard: int) -> list[str]:
    model, limits = settings.model, settings.limits
    args = ["--model-id", model.id]
    if model.revision:
        args += ["--revision", model.revision]
    if model.quantize:
        args += ["--quantize", model.quantize]
    if model.dtype and (model.quantize or None) in DTYPE_COMPATIBLE_QUANTIZE:  # never with AWQ (nor gptq...)
        args += ["--dtype", model.dtype]
    args += [facts.input_limit_flag, str(limits.max_input_tokens)]
    optional: list[tuple[str, int | float | None]] = [
        ("--max-total-tokens", limits.max_total_tokens),
        ("--max-batch-prefill-tokens", limits.max_batch_prefill_tokens),
        ("--max-batch-total-tokens", limits.max_batch_total_tokens),
        ("--max-concurrent-requests", limits.max_concurrent_requests),
        ("--max-best-of", limits.max_best_of),
        ("--max-stop-sequences", limits.max_stop_sequences),
        ("--max-top-n-tokens", limits.max_top_n_tokens),
        ("--waiting-served-ratio", limits.waiting_served_ratio),
        ("--max-waiting-tokens", limits.max_waiting_tokens),
        ("--max-batch-size", limits.max_batch_size),
    ]
    args += [item for flag, value in optional if value is not None for item in (flag, str(value))]
    args += ["--num-shard", str(num_shard), "--hostname", "0.0.0.0", "--port", str(CONTAINER_PORT)]
    args += facts.usage_stats_args(settings.engine.usage_stats)
    return args + list(settings.engine.extra_args)


def _secret_files(settings: Settings, facts: TgiFacts) -> list[SecretFile]:
    files: list[SecretFile] = []
    if settings.secrets.hf_token is not None:
        files.append(SecretFile("hf-token", facts.token_file, facts.token_env, settings.secrets.hf_token))
    if settings.secrets.api_key is not None:
        files.append(SecretFile("tgi-api-key", API_KEY_TARGET, "API_KEY", settings.secrets.api_key))
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


def _entrypoint(secret_files: list[SecretFile], facts: TgiFacts) -> list[str] | None:
    if not any(secret.env_var for secret in secret_files):
        return None
    return ["/bin/sh", "-c", wrapper_script(secret_files), *facts.entrypoint]


def _device_requests(gpus: str) -> list[GpuRequest]:
    selection = parse_gpus(gpus)
    if selection.kind == "none":
        return []
    if selection.kind == "all":
        return [GpuRequest(count=-1, device_ids=None, capabilities=[["gpu"]])]
    return [GpuRequest(count=None, device_ids=list(selection.ids), capabilities=[["gpu"]])]


def _healthcheck(settings: Settings) -> Healthcheck:
    """`/health` from inside the container, with the image's Python or else curl (TGI images have both; the
    emulator image only Python). TGI opens its port only after warm-up, so the start period is the whole
    start-up deadline."""
    url = f"http://127.0.0.1:{CONTAINER_PORT}/health"
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
    for key in ("labels", "warnings", "settings_hash"):
        data.pop(key)
    data["secret_files"] = [(s.name, s.target, s.env_var) for s in plan.secret_files]
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
