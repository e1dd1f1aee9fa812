"""Checks `up` makes before touching anything: engine, NVIDIA runtime, port, cache directory, name clash.

Each check raises `RuntimeUnavailableError` (exit 3) whose message names what was checked, what was found and
the next step. The cache directory is created when missing (with the invoking user as owner: left to the
engine, it would be created by root) and must be writable, since TGI downloads the weights into it.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import RuntimeUnavailableError
from orchestrator.launch.labels import label

if TYPE_CHECKING:
    from orchestrator.config.gpus import GpuSelection
    from orchestrator.config.settings import HostSettings, Settings
    from orchestrator.runtime.containers import ContainerInfo, DockerRuntime, EngineFacts

__all__ = [
    "NVIDIA_HELP",
    "PreflightResult",
    "check_cache_dir",
    "check_gpus",
    "check_name",
    "check_port",
    "gpus_requested",
    "run_preflight",
]

NVIDIA_HELP = (
    "install the NVIDIA Container Toolkit (https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/"
    "latest/install-guide.html), run `sudo nvidia-ctk runtime configure --runtime=docker` and restart the engine; "
    "or run without GPUs with --gpus none (ORCHESTRATOR_HOST__GPUS=none), e.g. for the emulator image"
)


@dataclass(frozen=True)
class PreflightResult:
    """What the checks learned: engine facts and the deployment already holding our name, if any."""

    facts: EngineFacts
    existing: ContainerInfo | None


def gpus_requested(selection: GpuSelection) -> bool:
    """Whether the container asks for any GPU (`0` is GPU number 0, not "none")."""
    return selection.kind != "none"


def check_gpus(host: HostSettings, facts: EngineFacts) -> None:
    """GPUs asked for but the engine has no NVIDIA runtime: the start would fail with a cryptic driver error."""
    gpus = host.gpus
    if gpus_requested(host.gpu_selection) and not facts.nvidia:
        runtimes = ", ".join(facts.runtimes) or "none"
        raise RuntimeUnavailableError(
            f"host.gpus = {gpus!r} asks for GPUs, but the Docker Engine {facts.server_version} has no NVIDIA "
            f"runtime (runtimes: {runtimes}). Fix: {NVIDIA_HELP}."
        )


def check_port(bind_address: str, port: int) -> None:
    """The API port must be free on the bind address (a listening socket there makes the publish fail)."""
    family = socket.AF_INET6 if ":" in bind_address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind_address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise RuntimeUnavailableError(
                    f"host.port = {port}: port {port} on {bind_address} is already in use. Fix: pick a free port "
                    "with --port (ORCHESTRATOR_HOST__PORT), or stop what listens there "
                    "(`orchestrator status` lists our deployments, `ss -ltnp` all listeners)."
                ) from exc
            if exc.errno == errno.EADDRNOTAVAIL:
                raise RuntimeUnavailableError(
                    f"host.bind_address = {bind_address!r} is not an address of this host. Fix: use 127.0.0.1 "
                    "(loopback), 0.0.0.0 (all interfaces) or one of this host's addresses."
                ) from exc
            if exc.errno == errno.EACCES:
                raise RuntimeUnavailableError(
                    f"host.port = {port}: binding below 1024 needs privileges. Fix: use a port >= 1024."
                ) from exc
            raise RuntimeUnavailableError(f"cannot check port {bind_address}:{port}: {exc}") from exc


def check_cache_dir(path: Path) -> None:
    """Create the weights cache directory if missing; it must be a writable directory."""
    if path.exists() and not path.is_dir():
        raise RuntimeUnavailableError(
            f"host.cache_dir = {str(path)!r} exists but is not a directory. Fix: point it at a directory."
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RuntimeUnavailableError(
            f"host.cache_dir = {str(path)!r} cannot be created: {exc.strerror or exc}. Fix: choose a directory "
            "you can write (ORCHESTRATOR_HOST__CACHE_DIR) or create it with the right owner."
        ) from exc
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".orchestrator-write-check-"):
            pass
    except OSError as exc:
        raise RuntimeUnavailableError(
            f"host.cache_dir = {str(path)!r} is not writable by user {os.getuid()}: {exc.strerror or exc}. "
            "Fix: `chown` it to you or choose another directory (ORCHESTRATOR_HOST__CACHE_DIR)."
        ) from exc


def check_name(runtime: DockerRuntime, name: str) -> ContainerInfo | None:
    """Our deployment already using `name`, None if the name is free; a foreign container with it is an error."""
    existing = runtime.inspect(name)
    if existing is not None and not existing.managed:
        raise RuntimeUnavailableError(
            f"host.container_name = {name!r}: a container with this name exists that orchestrator did not "
            f"create (image {existing.image}, {existing.status}). Fix: choose another name with --name "
            f"(ORCHESTRATOR_HOST__CONTAINER_NAME) or remove it yourself (`docker rm -f {name}`)."
        )
    return existing


def run_preflight(
    settings: Settings, runtime: DockerRuntime, *, facts: EngineFacts | None = None
) -> PreflightResult:
    """Every check in order; the port check is skipped when our same-named running deployment holds the port."""
    facts = facts or runtime.facts()
    existing = check_name(runtime, settings.host.container_name)
    check_gpus(settings.host, facts)
    check_cache_dir(settings.cache_dir)
    if not _held_by(existing, settings):
        check_port(settings.host.bind_address, settings.host.port)
    return PreflightResult(facts=facts, existing=existing)


def _held_by(existing: ContainerInfo | None, settings: Settings) -> bool:
    """True when our same-named running deployment publishes the requested port (up decides what to do)."""

    if existing is None or not existing.running:
        return False
    return existing.labels.get(label("port")) == str(settings.host.port)
