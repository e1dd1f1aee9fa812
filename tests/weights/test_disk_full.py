"""The disk filling up in the middle of a download, for real: the cache on a small tmpfs, filled while the pull
runs. Needs permission to mount a tmpfs (root, outside a locked-down container); skips with the reason otherwise."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.emulator.hub import MISTRAL_AWQ, Fault, HubStandIn, RepoFile, mistral_awq_files
from tests.weights.pulling import parse, repo_dir, start_pull_until

SIZE_MB = 24


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "data"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_disk_filling_up_mid_download(hub_standin: HubStandIn, tmp_path: Path, small_disk: Path) -> None:
    weights = RepoFile("model.safetensors", os.urandom(16_000_000), lfs=True)
    others = [f for f in mistral_awq_files() if f.path != "model.safetensors"]
    hub_standin.repos[MISTRAL_AWQ].commit([*others, weights])
    hub_standin.faults.add(Fault("rate", path="model.safetensors", bytes_per_second=6_000_000))
    process, _ = start_pull_until(hub_standin, tmp_path, "model.safetensors", 1)
    filler = small_disk / "filler"
    with filler.open("wb") as out, pytest.raises(OSError):
        while True:  # someone else fills the disk while the weights arrive
            out.write(b"\0" * (1 << 20))
    rest, stderr = process.communicate(timeout=60)
    assert process.returncode == 8, stderr
    error = parse(rest)[-1]
    assert (
        error["kind"] == "DiskFullError"
        and "filled up" in error["error"]
        and "host.cache_dir" in error["fix"]
    )
    assert not (repo_dir(tmp_path) / "refs" / "main").exists()
    assert not list((repo_dir(tmp_path) / "blobs").glob("*.incomplete")), "the partial file is removed"
