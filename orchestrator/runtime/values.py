"""Docker's values as ours: container state, engine facts, pull events, times, log lines, image names, ports.

Pure translations with no Docker SDK import, so they are unit-tested without an engine and usable by modules
that must stay light; `orchestrator.runtime.containers` (the one module talking to the engine) applies them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrator.launch.labels import LABEL_PREFIX, label

__all__ = [
    "LABEL_PREFIX",
    "MANAGED_LABEL",
    "NAME_LABEL",
    "ContainerInfo",
    "EngineFacts",
    "ImageIdentity",
    "PullProgress",
    "engine_facts",
    "exposed_port",
    "info_from_attrs",
    "layer_id",
    "nanoseconds",
    "parse_docker_time",
    "split_image",
    "split_lines",
]

MANAGED_LABEL = label("managed")
NAME_LABEL = label("name")


@dataclass(frozen=True)
class EngineFacts:
    """What the engine offers: versions, runtimes (`nvidia` when the NVIDIA Container Toolkit is set up), GPUs."""

    server_version: str
    api_version: str
    runtimes: tuple[str, ...]
    default_runtime: str
    gpu_count: int | None
    """GPUs visible on the engine's host (`/dev/nvidiaN` on a local engine), None when unknown."""
    cdi_spec_dirs: tuple[str, ...] = ()
    """Where the engine reads CDI device specs (Docker 25+ with CDI on); NVIDIA's lists `nvidia.com/gpu`."""
    root_dir: str | None = None
    """Docker's data directory (images live there) on a local engine, None when remote or unknown."""

    @property
    def local(self) -> bool:
        """The engine runs on this machine (its GPUs and disks are ours to read)."""
        return self.gpu_count is not None

    @property
    def nvidia(self) -> bool:
        return "nvidia" in self.runtimes or self.default_runtime == "nvidia"


def engine_facts(info: dict[str, Any], version: dict[str, Any], *, gpu_count: int | None) -> EngineFacts:
    """The engine's `info` and `version` answers as `EngineFacts`; `gpu_count` None for a remote engine."""
    local = gpu_count is not None
    return EngineFacts(
        server_version=str(version.get("Version", "?")),
        api_version=str(version.get("ApiVersion", "?")),
        runtimes=tuple(sorted((info.get("Runtimes") or {}).keys())),
        default_runtime=str(info.get("DefaultRuntime", "runc")),
        gpu_count=gpu_count,
        cdi_spec_dirs=tuple(info.get("CDISpecDirs") or ()) if local else (),
        root_dir=str(info["DockerRootDir"]) if local and info.get("DockerRootDir") else None,
    )


@dataclass(frozen=True)
class ContainerInfo:
    """A container as `docker inspect` describes it, reduced to what deployments need."""

    id: str
    name: str
    image: str
    status: str
    """created | running | restarting | paused | exited | dead | removing."""
    exit_code: int | None
    oom_killed: bool
    error: str
    started_at: datetime | None
    finished_at: datetime | None
    restart_count: int
    health: str | None
    labels: dict[str, str] = field(default_factory=dict)
    stop_timeout: int | None = None
    """Seconds the engine waits after SIGTERM before SIGKILL (the plan sets it above TGI's drain)."""

    @property
    def running(self) -> bool:
        return self.status in {"running", "restarting"}

    @property
    def managed(self) -> bool:
        return self.labels.get(MANAGED_LABEL) == "true"


@dataclass(frozen=True)
class ImageIdentity:
    """Which exact image a reference names here: its local id, and its registry digests when it was pulled."""

    reference: str
    image_id: str
    """`sha256:...` of the image config: the identity of a local build (no registry digest)."""
    repo_digests: tuple[str, ...]
    """`repo@sha256:...` for each registry it came from; empty for a local build."""

    @property
    def digests(self) -> tuple[str, ...]:
        """The `sha256:...` parts of `repo_digests`."""
        return tuple(sorted({entry.rsplit("@", 1)[-1] for entry in self.repo_digests}))


@dataclass(frozen=True)
class PullProgress:
    """One event of an image pull: a layer's status and bytes, or a whole-image message when `layer` is empty."""

    image: str
    layer: str
    status: str
    current: int | None = None
    total: int | None = None


def parse_docker_time(text: str | None) -> datetime | None:
    """Docker's RFC 3339 times (nanoseconds, `Z`) as aware datetimes; its zero time `0001-...` as None."""
    if not text or text.startswith("0001-"):
        return None
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?", text)
    if not match:
        return None
    fraction = (match[2] or ".0")[:7]
    zone = match[3] or "Z"
    return datetime.fromisoformat(f"{match[1]}{fraction}{'+00:00' if zone == 'Z' else zone}")


def info_from_attrs(attrs: dict[str, Any]) -> ContainerInfo:
    state = attrs.get("State") or {}
    config = attrs.get("Config") or {}
    health = state.get("Health") or {}
    return ContainerInfo(
        id=str(attrs.get("Id", "")),
        name=str(attrs.get("Name", "")).lstrip("/"),
        image=str(config.get("Image", "")),
        status=str(state.get("Status", "unknown")),
        exit_code=state.get("ExitCode") if state.get("Status") in {"exited", "dead"} else None,
        oom_killed=bool(state.get("OOMKilled")),
        error=str(state.get("Error") or ""),
        started_at=parse_docker_time(state.get("StartedAt")),
        finished_at=parse_docker_time(state.get("FinishedAt")),
        restart_count=int(attrs.get("RestartCount") or 0),
        health=health.get("Status") if health else None,
        labels=dict(config.get("Labels") or {}),
        stop_timeout=config.get("StopTimeout"),
    )


def split_lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Docker log frames do not respect line ends: rebuild whole lines."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.decode("utf-8", "replace").rstrip("\r")
    if pending:
        yield pending.decode("utf-8", "replace").rstrip("\r")


def split_image(image: str) -> tuple[str, str]:
    if "@" in image:
        repository, digest = image.split("@", 1)
        return repository, digest
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = image.rsplit(":", 1)
        return repository, tag
    return image, "latest"


def layer_id(value: Any) -> str:
    """Pull events carry a layer's short digest in `id`, or the tag for whole-image messages."""
    text = str(value or "")
    return text if re.fullmatch(r"[0-9a-f]{12}", text) else ""


def exposed_port(key: str) -> int | tuple[int, str]:
    """`80/tcp` -> 80, `53/udp` -> (53, "udp"): the SDK appends the protocol itself."""
    port, _, proto = key.partition("/")
    return int(port) if proto in {"", "tcp"} else (int(port), proto)


def nanoseconds(seconds: float) -> int:
    return round(float(seconds) * 1_000_000_000)
