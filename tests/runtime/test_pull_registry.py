"""Image pulls for real: Debian's `docker-registry` on loopback, the emulator image pushed to it, `up` pulling."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.deploy import lifecycle as deploy
from orchestrator.deploy.readiness import Phase, ProgressEvent
from orchestrator.errors import DeploymentError
from tests.fixtures.docker_engine import require_or_skip
from tests.fixtures.emulator import free_port
from tests.runtime.conftest import SettingsFactory

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `docker-registry serve` process on 127.0.0.1:<free port>; yields `127.0.0.1:PORT`."""
    exe = shutil.which("docker-registry")
    if exe is None:
        require_or_skip("Debian's docker-registry is not installed (apt-get install docker-registry)")
        raise AssertionError("unreachable")
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = (root / "registry.log").open("wb")
    process = subprocess.Popen([exe, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1) as answer:
                if answer.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"docker-registry did not start: {(root / 'registry.log').read_text()[-2000:]}")
        time.sleep(0.1)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def pushed_image(registry: str, emulator_image: str, docker_client: Any, tmp_path: Path) -> Iterator[str]:
    """`<registry>/tgi-emulator:3.3.7` in the registry and not on the engine.

    It is the emulator image plus one layer of random bytes, so the pull has a layer to download (layers the
    engine already holds are only reported as present).
    """
    reference = f"{registry}/tgi-emulator:3.3.7"
    (tmp_path / "pull-test.bin").write_bytes(os.urandom(3_000_000))
    (tmp_path / "Dockerfile").write_text(f"FROM {emulator_image}\nCOPY pull-test.bin /opt/pull-test.bin\n")
    docker_client.images.build(path=str(tmp_path), tag=reference, rm=True)
    for event in docker_client.api.push(f"{registry}/tgi-emulator", tag="3.3.7", stream=True, decode=True):
        assert "error" not in event, event
    docker_client.images.remove(reference)  # the image and its random layer leave the engine
    yield reference
    with contextlib.suppress(Exception):  # already gone is fine
        docker_client.images.remove(reference)


def test_up_pulls_missing_image_with_layer_progress(
    pushed_image: str, emulator_settings: SettingsFactory, docker_client: Any
) -> None:
    settings = emulator_settings(image=pushed_image)
    events: list[ProgressEvent] = []
    info = deploy.up(settings, progress=events.append)
    pulls = [e for e in events if e.kind == "pull"]
    assert pulls and all(e.phase is Phase.PULLING for e in pulls)
    assert any(e.layer for e in pulls), "per-layer events expected"
    statuses = {e.message for e in pulls}
    assert {"Pulling fs layer", "Pull complete"} <= statuses, statuses
    assert any(e.message == "Downloading" and e.total for e in pulls), "byte progress expected"
    assert next(e.phase for e in events if e.kind == "phase") is Phase.PULLING
    assert info.action == "created" and info.image == pushed_image
    docker_client.images.get(pushed_image)  # now present locally
    assert deploy.down(settings.host.container_name, grace=5) == [settings.host.container_name]


def test_missing_tag_in_reachable_registry(registry: str, emulator_settings: SettingsFactory) -> None:
    image = f"{registry}/tgi-emulator:9.9.9"
    with pytest.raises(DeploymentError) as caught:
        deploy.up(emulator_settings(image=image))
    error = caught.value
    assert error.exit_code == 4 and image in str(error)
    assert "does not exist" in error.cause and "engine.image" in error.fix


def test_unreachable_registry(emulator_settings: SettingsFactory, tmp_path: Path) -> None:
    image = f"127.0.0.1:{free_port()}/tgi-emulator:3.3.7"
    with pytest.raises(DeploymentError) as caught:
        deploy.up(emulator_settings(image=image))
    error = caught.value
    assert "cannot be reached" in error.cause and image in str(error)
