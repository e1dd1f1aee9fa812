"""Preflight checks against real things: sockets, directories, an engine address with nothing behind it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from orchestrator.config.gpus import parse_gpus
from orchestrator.config.settings import HostSettings
from orchestrator.deploy.preflight import check_cache_dir, check_gpus, check_port, gpus_requested
from orchestrator.errors import RuntimeUnavailableError
from orchestrator.runtime.containers import EngineFacts, connect


def _facts(*runtimes: str) -> EngineFacts:
    return EngineFacts("20.10.24", "1.41", tuple(runtimes), "runc", None)


def test_busy_port_is_reported_with_the_setting_and_fix() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(RuntimeUnavailableError) as caught:
            check_port("127.0.0.1", port)
    message = str(caught.value)
    assert f"host.port = {port}" in message and "--port" in message
    assert caught.value.exit_code == 3
    check_port("127.0.0.1", port)  # free again once the holder is gone


def test_bind_address_that_is_not_ours() -> None:
    with pytest.raises(RuntimeUnavailableError, match=r"host\.bind_address"):
        check_port("192.0.2.55", 8080)  # TEST-NET-1: never a local address


def test_cache_dir_is_created_and_must_be_a_writable_directory(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "data"
    check_cache_dir(target)
    assert target.is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RuntimeUnavailableError, match=r"host\.cache_dir"):
        check_cache_dir(blocker / "data")
    with pytest.raises(RuntimeUnavailableError, match="not a directory"):
        check_cache_dir(blocker)


def test_gpus_need_the_nvidia_runtime() -> None:
    with pytest.raises(RuntimeUnavailableError) as caught:
        check_gpus(HostSettings(gpus="all"), _facts("runc", "io.containerd.runc.v2"))
    assert "NVIDIA Container Toolkit" in str(caught.value) and "--gpus none" in str(caught.value)
    check_gpus(HostSettings(gpus="all"), _facts("runc", "nvidia"))
    check_gpus(HostSettings(gpus="none"), _facts("runc"))
    assert gpus_requested(parse_gpus("0,1")) and gpus_requested(parse_gpus("0"))
    assert not gpus_requested(parse_gpus("none"))


def test_no_engine_behind_the_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/nothing.sock")
    with pytest.raises(RuntimeUnavailableError) as caught:
        connect()
    message = str(caught.value)
    assert "unix:///tmp/nothing.sock" in message
    assert "docker info" in message and "systemctl start docker" in message
    assert caught.value.exit_code == 3
