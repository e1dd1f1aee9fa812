"""The vLLM-personality image runs the way vllm/vllm-openai:v0.33.0 runs: `docker run IMAGE MODEL [flags]`."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.emulator.helpers import post, wait_healthy
from tests.fixtures.emulator import VLLM_MODEL, free_port

_LABELS = {"tgi-orchestrator.test": "emulator-vllm-image"}
_ARGS = [
    "--served-model-name",
    "mistral",
    "--max-model-len",
    "4096",
    "--shutdown-timeout",
    "5",
    "--api-key",
    "k",
]


@pytest.mark.docker
def test_image_has_vllms_entrypoint_contract(docker_client: Any, emulator_vllm_image: str) -> None:
    config = docker_client.images.get(emulator_vllm_image).attrs["Config"]
    assert config["Entrypoint"] == ["vllm", "serve"] and not config.get("Cmd")
    assert not config.get("ExposedPorts")


@pytest.mark.docker
def test_image_serves_drains_and_stops_like_vllm(docker_client: Any, emulator_vllm_image: str) -> None:
    port = free_port()
    container = docker_client.containers.run(
        emulator_vllm_image,
        command=[VLLM_MODEL, *_ARGS],
        ports={"8000/tcp": ("127.0.0.1", port)},
        detach=True,
        labels=_LABELS,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, container)
        reply = post(url, "/v1/chat/completions", {"model": "mistral", "max_tokens": 3,
                                                   "messages": [{"role": "user", "content": "hi"}]},
                     headers={"Authorization": "Bearer k"})  # fmt: skip
        assert reply.status == 200 and reply.json()["usage"]["completion_tokens"] == 3
        container.stop(timeout=30)
        container.reload()
        assert container.attrs["State"]["ExitCode"] == 0
        logs = container.logs().decode(errors="replace")
        assert f"vLLM server version 0.33.0, serving model {VLLM_MODEL}" in logs
        assert "'api_key': '***'" in logs and "'k'" not in logs  # the key is redacted in the start-up line
        assert "Starting vLLM server on http://0.0.0.0:8000" in logs
        assert "stopping engine client mode=drain timeout=5s" in logs and "Finished server process" in logs
    finally:
        container.remove(force=True)


@pytest.mark.docker
def test_repeating_serve_fails_as_the_real_image_does(docker_client: Any, emulator_vllm_image: str) -> None:
    container = docker_client.containers.run(emulator_vllm_image, command=["serve", VLLM_MODEL], detach=True,
                                             labels=_LABELS)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while container.status != "exited" and time.monotonic() < deadline:
            time.sleep(0.2)
            container.reload()
        assert container.attrs["State"]["ExitCode"] == 2
        assert "vllm: error: unrecognized arguments: serve" in container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
