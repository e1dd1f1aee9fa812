"""The doctor's host checks against real things (sockets, directories, statvfs, files) and `up`'s preflight."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.config.settings import Settings
from orchestrator.deploy.doctor import run_doctor
from orchestrator.deploy.host_checks import (
    cache_dir_verdict,
    check_gpus,
    docker_verdict,
    port_verdict,
    runtime_verdict,
)
from orchestrator.deploy.preflight import check_resources
from orchestrator.deploy.resource_checks import cached_weight_bytes, disk_verdict, shm_bytes, shm_verdict
from orchestrator.engines.tgi.hardware import facts_for
from orchestrator.errors import RuntimeUnavailableError
from orchestrator.launch.labels import label
from orchestrator.runtime.values import ContainerInfo, EngineFacts
from tests.gpu.recorded import H100, T4, report

Make = Callable[..., Settings]
TGI = facts_for((3, 3, 7))


def _facts(*runtimes: str, cdi: tuple[str, ...] = (), root: str | None = None) -> EngineFacts:
    return EngineFacts("26.1.5", "1.45", tuple(runtimes), "runc", 1, cdi, root)


def test_docker_verdicts() -> None:
    missing = docker_verdict(
        None, "no Docker Engine answers at unix:///x (refused). Fix: start the Docker Engine."
    )
    assert (
        missing.status == "fail" and "unix:///x" in missing.cause and missing.fix == "start the Docker Engine"
    )
    assert docker_verdict(EngineFacts("18.09.1", "1.39", (), "runc", 0), None).status == "fail"
    good = docker_verdict(_facts("runc"), None)
    assert good.status == "ok" and "26.1.5" in good.summary


def test_nvidia_runtime_or_cdi(make_settings: Make, tmp_path: Path) -> None:
    host = make_settings().host
    missing = runtime_verdict(host, _facts("runc"))
    assert missing.status == "fail" and "NVIDIA Container Toolkit" in missing.fix
    assert runtime_verdict(host, _facts("runc", "nvidia")).status == "ok"
    assert runtime_verdict(make_settings(host__gpus="none").host, _facts("runc")).status == "ok"
    assert runtime_verdict(host, None).status == "warn"
    cdi = tmp_path / "cdi"
    cdi.mkdir()
    (cdi / "other.yaml").write_text("cdiVersion: 0.5.0\nkind: vendor.com/device\n")
    assert runtime_verdict(host, _facts("runc", cdi=(str(cdi),))).status == "fail"
    (cdi / "nvidia.yaml").write_text("cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices: []\n")
    found = runtime_verdict(host, _facts("runc", cdi=(str(cdi),)))
    assert found.status == "ok" and "nvidia.yaml" in found.summary
    check_gpus(host, _facts("runc", cdi=(str(cdi),)))  # up's preflight accepts CDI too


def test_port_busy_free_or_ours(make_settings: Make) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        settings = make_settings(host__port=port)
        busy = port_verdict(settings)
        assert busy.status == "fail" and "already in use" in busy.cause and "--port" in busy.fix
        ours = ContainerInfo("c", "tgi-mistral", "img", "running", None, False, "", None, None, 0, None,
                             {label("port"): str(port)})  # fmt: skip
        assert port_verdict(settings, ours).status == "ok"
    assert port_verdict(settings).status == "ok"


def test_cache_dir_is_checked_without_creating_it(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    assert cache_dir_verdict(target).status == "ok" and not target.exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cache_dir_verdict(blocker).status == "fail"
    assert cache_dir_verdict(blocker / "data").status == "fail"


def test_shm_against_the_shard_count(make_settings: Make) -> None:
    assert shm_bytes("1g") == 1 << 30 and shm_bytes("64m") == 64 << 20 and shm_bytes("x") is None
    assert shm_verdict(make_settings(host__shm_size="64m"), 1, TGI).status == "ok"
    small = shm_verdict(make_settings(host__shm_size="64m"), 2, TGI)
    assert small.status == "fail" and "host.shm_size=1g" in small.fix
    assert shm_verdict(make_settings(), 4, TGI).status == "ok"


def test_disk_for_weights_and_image(make_settings: Make, tmp_path: Path) -> None:
    settings = make_settings()
    weights = (4_150_000_000, "model facts")
    fine = disk_verdict(settings, weights, TGI, image_present=False, docker_root=str(tmp_path))
    assert fine.status == "ok" and "weights 4.2 GB" in fine.summary and "image about 10.0 GB" in fine.summary
    huge = disk_verdict(settings, (10**18, "weights lock"), TGI, image_present=True, docker_root=None)
    assert huge.status == "fail" and "needs" in huge.cause and "host.cache_dir" in huge.fix
    blobs = settings.cache_dir / "hub" / "models--TheBloke--Mistral-7B-Instruct-v0.2-AWQ" / "blobs"
    blobs.mkdir(parents=True)
    with (blobs / "abc123").open("wb") as blob:
        blob.truncate(4_150_000_000)  # sparse: the size counts, not the blocks
    assert cached_weight_bytes(settings.cache_dir, settings.model.id) == 4_150_000_000
    cached = disk_verdict(settings, weights, TGI, image_present=True, docker_root=None)
    assert cached.status == "ok" and "weights 0.0 GB" in cached.summary
    emulator = disk_verdict(
        make_settings(host__gpus="none"), (10**18, "x"), TGI, image_present=True, docker_root=None
    )
    assert emulator.status == "ok"


class _Runtime:
    """The two calls the resource checks make of a runtime."""

    def image_exists(self, image: str) -> bool:
        return True

    def inspect(self, name: str) -> None:
        return None

    def facts(self) -> EngineFacts:
        return _facts("runc", "nvidia")


def test_preflight_refuses_a_t4_and_passes_an_h100(make_settings: Make) -> None:
    settings = make_settings()
    with pytest.raises(RuntimeUnavailableError) as caught:
        check_resources(settings, _Runtime(), _facts("runc", "nvidia"), report(T4))  # type: ignore[arg-type]
    message = str(caught.value)
    assert "compute-capability[0]" in message and "Fix:" in message and caught.value.exit_code == 3
    check_resources(settings, _Runtime(), _facts("runc", "nvidia"), report(H100))  # type: ignore[arg-type]
    check_resources(make_settings(host__gpus="none"), _Runtime(), _facts("runc"), None)  # type: ignore[arg-type]


def test_doctor_without_an_engine(make_settings: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/no-docker-here.sock")
    result = run_doctor(make_settings(), reader=lambda: report(H100))
    found = {v.check: v.status for v in result.verdicts}
    assert found["docker"] == "fail" and found["nvidia-runtime"] == "warn"
    assert found["compute-capability[0]"] == "ok" and found["vram"] == "ok"
    assert result.exit_code == 3
    data = result.to_json()
    assert data["ok"] is False and data["counts"]["fail"] == 1
    assert data["plan"]["capacity"]["kv_tokens"] > 400_000
    assert all(c["status"] != "fail" or (c["cause"] and c["fix"]) for c in data["checks"])
