"""The emulator image starts like TGI's (launcher args as the command), answers, and stops cleanly."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import pytest

from tests.emulator.helpers import get, post, validate_response, wait_healthy
from tests.fixtures.emulator import free_port


@pytest.mark.docker
def test_image_starts_answers_and_stops(docker_client: Any, emulator_image: str) -> None:
    port = free_port()
    container = docker_client.containers.run(
        emulator_image,
        command=[
            "--model-id",
            "TheBloke/Mistral-7B-Instruct-v0.2-AWQ",
            "--max-input-tokens",
            "3696",
            "--max-total-tokens",
            "4096",
            "--max-batch-prefill-tokens",
            "4096",
        ],
        ports={"80/tcp": ("127.0.0.1", port)},
        detach=True,
        labels={"tgi-orchestrator.test": "emulator-image"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, container)
        info = get(url, "/info").json()
        validate_response(info, "/info", method="get")
        assert (
            info["model_id"] == "TheBloke/Mistral-7B-Instruct-v0.2-AWQ" and info["max_input_tokens"] == 3696
        )
        reply = post(url, "/generate", {"inputs": "[INST] hi [/INST]", "parameters": {"max_new_tokens": 4}})
        assert reply.status == 200 and reply.headers["x-generated-tokens"] == "4"
        container.stop(timeout=30)
        container.reload()
        assert container.attrs["State"]["ExitCode"] == 0
        logs = container.logs().decode(errors="replace")
        assert (
            "Connected" in logs and "Invalid hostname, defaulting to 0.0.0.0" in logs
        )  # Docker sets HOSTNAME
        assert "webserver terminated" in logs
    finally:
        container.remove(force=True)


@pytest.mark.docker
def test_image_under_the_orchestrators_secret_wrapper(docker_client: Any, emulator_image: str) -> None:
    """`orchestrator up` wraps TGI's entrypoint as `sh -c '...; exec "$0" "$@"' /tgi-entrypoint.sh ARGS`."""
    port = free_port()
    script = 'set -e; API_KEY="$(cat /run/key)"; export API_KEY; exec "$0" "$@"'
    container = docker_client.containers.create(
        emulator_image,
        entrypoint=["/bin/sh", "-c", f"printf k3y > /run/key; {script}", "/tgi-entrypoint.sh"],
        command=["--max-total-tokens", "512", "--port", "80"],
        ports={"80/tcp": ("127.0.0.1", port)},
        labels={"tgi-orchestrator.test": "emulator-image"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        container.start()
        wait_healthy(url, container)
        body = {"inputs": "x", "parameters": {"max_new_tokens": 2}}
        assert post(url, "/generate", body).status == 401
        assert post(url, "/generate", body, headers={"authorization": "Bearer k3y"}).status == 200
        container.stop(timeout=30)
        container.reload()
        assert container.attrs["State"]["ExitCode"] == 0  # SIGTERM reached the emulator through `exec`
        assert "k3y" not in container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


@pytest.mark.docker
@pytest.mark.slow
def test_build_script_builds_a_working_image(docker_client: Any) -> None:
    """compose/build-emulator-image.sh: wheelhouse on the host, offline `pip install --no-index` in the build."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import docker.errors

    from tests.fixtures.docker_engine import require_or_skip

    base = "tgi-orchestrator/base:bookworm"
    try:
        docker_client.images.get(base)
    except docker.errors.ImageNotFound:
        require_or_skip(f"base image {base} is missing: run .ci/make-base-image.sh")
    tag = f"tgi-orchestrator/emulator:build-test-{uuid.uuid4().hex[:8]}"  # unique: runs side by side
    vllm_tag = tag.replace("emulator:", "emulator-vllm:")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "EMULATOR_IMAGE": tag, "EMULATOR_VLLM_IMAGE": vllm_tag, "BASE_IMAGE": base,
           "PYTHON": sys.executable}  # fmt: skip
    result = subprocess.run(["bash", str(root / "compose/build-emulator-image.sh")], capture_output=True, text=True,
                            env=env, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    try:
        output = docker_client.containers.run(tag, command=["--help"], remove=True)
        assert b"--max-total-tokens" in output and b"--emulator-profile" in output
        image = docker_client.images.get(tag)
        assert image.attrs["Config"]["Env"] and "PORT=80" in image.attrs["Config"]["Env"]
        assert "HF_HOME=/data" in image.attrs["Config"]["Env"]
        assert image.attrs["Config"]["Entrypoint"] == ["/tgi-entrypoint.sh"]
        assert "80/tcp" in image.attrs["Config"]["ExposedPorts"]
        pip = docker_client.containers.run(tag, entrypoint=["/bin/sh", "-c", "ls /opt/venv/lib/python3.11/site-packages"],
                                           remove=True).decode()  # fmt: skip
        assert "locust" not in pip and "matplotlib" not in pip and "pytest" not in pip  # small image
        vllm = docker_client.images.get(vllm_tag).attrs["Config"]
        assert vllm["Entrypoint"] == ["vllm", "serve"] and not vllm.get("ExposedPorts")
        assert b"--max-num-seqs" in docker_client.containers.run(vllm_tag, command=["--help"], remove=True)
    finally:
        docker_client.images.remove(tag, force=True)
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(vllm_tag, force=True)
