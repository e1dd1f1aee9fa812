"""Checks of this host, each one rule in one place: the Docker Engine, the NVIDIA runtime (or CDI), the port, the
cache directory.

The raising forms (`check_port`, `check_gpus`, `check_cache_dir`) are what `up`'s preflight runs; the verdict
forms (`*_verdict`) are what `orchestrator doctor` shows, from the same rules: a raised
`RuntimeUnavailableError` becomes a fail whose cause and fix are its message's two halves.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.deploy.verdicts import Verdict, fail, ok, warn
from orchestrator.errors import RuntimeUnavailableError
from orchestrator.launch.labels import label

if TYPE_CHECKING:
    from orchestrator.config.gpus import GpuSelection
    from orchestrator.config.settings import HostSettings, Settings
    from orchestrator.runtime.containers import ContainerInfo, EngineFacts

__all__ = [
    "NVIDIA_HELP",
    "cache_dir_verdict",
    "check_cache_dir",
    "check_gpus",
    "check_port",
    "docker_verdict",
    "gpus_requested",
    "held_by",
    "nvidia_cdi",
    "port_verdict",
    "runtime_verdict",
]

MIN_DOCKER = (19, 3)
"""`--gpus` (device requests) arrived in Docker 19.03."""


NVIDIA_HELP = (
    "install the NVIDIA Container Toolkit (https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/"
    "latest/install-guide.html), run `sudo nvidia-ctk runtime configure --runtime=docker` and restart the engine; "
    "or run without GPUs with --gpus none (ORCHESTRATOR_HOST__GPUS=none), e.g. for the emulator image"
)


def gpus_requested(selection: GpuSelection) -> bool:
    """Whether the container asks for any GPU (`0` is GPU number 0, not "none")."""
    return selection.kind != "none"


def nvidia_cdi(facts: EngineFacts) -> str | None:
    """The CDI spec file offering `nvidia.com/gpu` in the engine's CDI directories (a local engine), else None."""
    for folder in facts.cdi_spec_dirs:
        try:
            entries = sorted(Path(folder).iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.suffix in {".yaml", ".yml", ".json"}:
                try:
                    if "nvidia.com/gpu" in entry.read_text(errors="replace")[:4096]:
                        return str(entry)
                except OSError:
                    continue
    return None


def check_gpus(host: HostSettings, facts: EngineFacts) -> None:
    """GPUs asked for but the engine has no NVIDIA runtime (nor a CDI spec for NVIDIA GPUs): the start would
    fail with a cryptic driver error."""
    gpus = host.gpus
    if gpus_requested(host.gpu_selection) and not facts.nvidia and nvidia_cdi(facts) is None:
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


def _as_verdict(check: str, run: Callable[[], None], passed: str, failed: str) -> Verdict:
    """A raising check as a verdict: its message before " Fix: " is the cause, after it the fix."""
    try:
        run()
    except RuntimeUnavailableError as exc:
        cause, _sep, fix = str(exc).partition(" Fix: ")
        return fail(check, failed, cause, fix.rstrip(".") or "see the cause")
    return ok(check, passed)


def docker_verdict(facts: EngineFacts | None, error: str | None) -> Verdict:
    """The engine answered (and is new enough for `--gpus`), or why not."""
    if facts is None:
        cause, _sep, fix = (error or "the Docker Engine did not answer").partition(" Fix: ")
        return fail("docker", "no Docker Engine answers", cause, fix.rstrip(".") or "start the Docker Engine")
    parts = facts.server_version.split(".")
    try:
        version = (int(parts[0]), int(parts[1]))
    except (ValueError, IndexError):
        version = None
    summary = f"Docker Engine {facts.server_version} (API {facts.api_version})"
    if version is not None and version < MIN_DOCKER:
        return fail(
            "docker",
            summary,
            cause="GPU device requests (`--gpus`) need Docker 19.03 or newer",
            fix="upgrade the Docker Engine",
        )
    return ok("docker", summary, server_version=facts.server_version, api_version=facts.api_version)


def runtime_verdict(host: HostSettings, facts: EngineFacts | None) -> Verdict:
    """The NVIDIA runtime or a CDI spec for NVIDIA GPUs, when GPUs are asked for."""
    if not gpus_requested(host.gpu_selection):
        return ok("nvidia-runtime", "host.gpus = 'none': not needed")
    if facts is None:
        return warn("nvidia-runtime", "not checked: no Docker Engine answers")
    if facts.nvidia:
        return ok("nvidia-runtime", f"NVIDIA runtime present (runtimes: {', '.join(facts.runtimes)})")
    spec = nvidia_cdi(facts)
    if spec is not None:
        return ok("nvidia-runtime", f"NVIDIA GPUs offered through CDI ({spec})")
    return _as_verdict(
        "nvidia-runtime",
        lambda: check_gpus(host, facts),
        "NVIDIA runtime present",
        "no NVIDIA runtime, nor a CDI spec for NVIDIA GPUs",
    )


def held_by(existing: ContainerInfo | None, settings: Settings) -> bool:
    """True when our same-named running deployment publishes the requested port (up decides what to do)."""
    if existing is None or not existing.running:
        return False
    return existing.labels.get(label("port")) == str(settings.host.port)


def port_verdict(settings: Settings, existing: ContainerInfo | None = None) -> Verdict:
    """Free, or held by our own running deployment of that name (then `up` attaches or replaces it)."""
    host = settings.host
    if held_by(existing, settings):
        return ok("port", f"{host.bind_address}:{host.port} is held by our deployment {existing.name!r}")  # type: ignore[union-attr]
    return _as_verdict(
        "port",
        lambda: check_port(host.bind_address, host.port),
        f"{host.bind_address}:{host.port} is free",
        f"{host.bind_address}:{host.port} cannot be published",
    )


def cache_dir_verdict(path: Path) -> Verdict:
    """Writable, or creatable (the nearest existing parent is writable); doctor creates nothing."""
    if path.exists():
        return _as_verdict(
            "cache-dir",
            lambda: check_cache_dir(path),
            f"{path} is a writable directory",
            f"{path} is not a writable directory",
        )
    parent = path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
        return ok("cache-dir", f"{path} does not exist yet; `up` will create it (under {parent})")
    return fail(
        "cache-dir",
        f"host.cache_dir = {str(path)!r} cannot be created",
        cause=f"{parent} is not a writable directory for user {os.getuid()}",
        fix="choose a directory you can write (ORCHESTRATOR_HOST__CACHE_DIR) or create it with the right owner",
    )
