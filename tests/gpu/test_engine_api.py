"""The doctor's standard-library engine reader against the real Docker Engine: the same facts as the SDK path."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.errors import RuntimeUnavailableError
from orchestrator.runtime.containers import connect
from orchestrator.runtime.engine_api import LocalEngine, local_socket


def test_local_socket_follows_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert local_socket() == "/var/run/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
    assert local_socket() == "/run/user/1000/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "tcp://gpu-host:2376")
    assert local_socket() is None


def test_nothing_behind_the_socket_is_a_clear_error(tmp_path: Any) -> None:
    with pytest.raises(RuntimeUnavailableError, match=r"no Docker Engine answers at unix://.*Fix:"):
        LocalEngine(str(tmp_path / "none.sock"), timeout=1).facts()


@pytest.mark.docker
def test_same_facts_as_the_sdk(
    docker_client: Any, emulator_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = local_socket()
    if path is None:
        pytest.skip("DOCKER_HOST is not a Unix socket")
    light = LocalEngine(path)
    sdk = connect()
    try:
        assert light.facts() == sdk.facts()
        assert light.image_exists(emulator_image) and not light.image_exists("tgi-orchestrator/no-such:0")
        assert light.inspect("tgi-orchestrator-no-such-container") is None
    finally:
        sdk.close()
