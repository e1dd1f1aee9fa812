"""The doctor's disk and shared-memory checks: free disk for the image and the weights, `/dev/shm` for shards.

Cheap reads only (statvfs, a walk of one model's cache folder): no pull, no network.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.deploy.verdicts import Verdict, fail, ok, warn

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.engines.base import HardwareFacts

__all__ = ["cached_weight_bytes", "disk_verdict", "free_bytes", "shm_bytes", "shm_verdict"]

GIB = 1 << 30
_SIZE = re.compile(r"^(\d+)([bkmg]?)$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _gb(value: int) -> str:
    return f"{value / 1e9:.1f} GB"


def shm_bytes(text: str) -> int | None:
    """Docker's `--shm-size` text (`1g`, `512m`, `67108864`) in bytes; None when malformed."""
    match = _SIZE.match(text.strip())
    return int(match[1]) * _UNITS[match[2].lower()] if match else None


def free_bytes(path: Path) -> tuple[int, int] | None:
    """(free bytes for us, device id) of the filesystem holding `path` or its nearest existing parent."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        stat = os.statvfs(probe)
        return stat.f_bavail * stat.f_frsize, os.stat(probe).st_dev
    except OSError:
        return None


def cached_weight_bytes(cache_dir: Path, model_id: str) -> int:
    """Bytes of `model_id` already in the Hub cache under `cache_dir` (`hub/models--org--name`, or the older
    layout without `hub/`): what the download will not need again."""
    folder = "models--" + model_id.replace("/", "--")
    total = 0
    for base in (cache_dir / "hub" / folder, cache_dir / folder):
        blobs = base / "blobs"
        if blobs.is_dir():
            for entry in os.scandir(blobs):
                if entry.is_file(follow_symlinks=False) and not entry.name.endswith(".incomplete"):
                    total += entry.stat(follow_symlinks=False).st_size
    return total


def disk_verdict(
    settings: Settings,
    weights: tuple[int, str] | None,
    hardware: HardwareFacts | None,
    *,
    image_present: bool | None,
    docker_root: str | None,
) -> Verdict:
    """Free disk at the cache directory for the weights not yet cached, and at Docker's root for a missing image
    (the two add up when they share a filesystem)."""
    cache = settings.cache_dir
    here = free_bytes(cache)
    if here is None:
        return warn("disk", f"free space at {cache} could not be read")
    needs: dict[int, list[tuple[str, int]]] = {}
    if weights is not None and settings.host.gpu_selection.kind != "none":
        missing = max(0, weights[0] - cached_weight_bytes(cache, settings.model.id))
        needs.setdefault(here[1], []).append((f"weights {_gb(missing)} ({weights[1]})", missing))
    image_need = hardware.image_disk_bytes if hardware is not None and image_present is False else 0
    root = free_bytes(Path(docker_root)) if docker_root and image_need else None
    if root is not None:
        needs.setdefault(root[1], []).append((f"image about {_gb(image_need)}", image_need))
    free_on = {here[1]: (str(cache), here[0])}
    if root is not None:
        free_on.setdefault(root[1], (str(docker_root), root[0]))
    short = []
    parts = []
    for device, items in needs.items():
        where, free = free_on[device]
        need = sum(size for _, size in items)
        parts.append(f"{where}: {_gb(free)} free for {' + '.join(name for name, _ in items)}")
        if need > free:
            short.append(f"{where} has {_gb(free)} free but needs {_gb(need)}")
    summary = "; ".join(parts) or f"{cache}: {_gb(here[0])} free (nothing to download)"
    if short:
        return fail(
            "disk",
            summary,
            cause="; ".join(short),
            fix="free disk space, or point host.cache_dir (ORCHESTRATOR_HOST__CACHE_DIR) at a larger disk",
        )
    return ok("disk", summary)


def shm_verdict(settings: Settings, num_shard: int, hardware: HardwareFacts | None) -> Verdict:
    """`host.shm_size` (the container's `/dev/shm`) against what the shards need to talk (NCCL)."""
    size = shm_bytes(settings.host.shm_size)
    if size is None:
        return fail(
            "shm",
            f"host.shm_size = {settings.host.shm_size!r} is not a size",
            cause="expected a number with an optional unit b, k, m or g",
            fix="e.g. --set host.shm_size=1g",
        )
    need = hardware.multi_shard_shm_bytes if hardware is not None and num_shard > 1 else 0
    summary = f"/dev/shm {settings.host.shm_size} for {num_shard} shard(s)"
    if size < need:
        return fail(
            "shm",
            summary,
            cause=f"{num_shard} shards talk through NCCL over /dev/shm; below {need // GIB} GiB NCCL fails at start",
            fix=f"--set host.shm_size={need // GIB}g (ORCHESTRATOR_HOST__SHM_SIZE)",
        )
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        memory = 0
    if memory and size > memory // 2:
        return warn(
            "shm",
            summary,
            cause=f"/dev/shm lives in memory; {settings.host.shm_size} is over half of this host's {memory // GIB} GiB",
            fix="lower host.shm_size",
        )
    return ok("shm", summary)
