"""`orchestrator up` pulling first and starting offline, `up --offline` and `up --locked`, for real: the console
script as a process, the Hub stand-in on loopback, the emulator image on the real Docker Engine.

The CLI runs as a child process because huggingface_hub reads `HF_ENDPOINT` when it is imported, as it does for
users. Every refusal is checked to leave no container behind.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.emulator.hub import HubStandIn, RepoFile
from tests.fixtures.docker_engine import bridge_gateway
from tests.fixtures.emulator import free_port
from tests.fixtures.hub import hub_env
from tests.helpers import run_orchestrator
from tests.lock.cache_builder import COMMIT, MODEL, build_cache

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def name(docker_client: Any) -> Iterator[str]:
    value = f"orch-lock-{uuid.uuid4().hex[:8]}"
    yield value
    for container in docker_client.containers.list(all=True, filters={"name": value}):
        container.remove(force=True)


def _run(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return run_orchestrator(*args, cwd=cwd, env=env, timeout=timeout)


def _base_env(tmp_path: Path, endpoint: str) -> dict[str, str]:
    return {
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "ORCHESTRATOR_HOST__CACHE_DIR": str(tmp_path / "cache"),
        "ORCHESTRATOR_ENGINE__EXTRA_ARGS": '["--emulator-profile", "instant"]',
        "HF_ENDPOINT": endpoint,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    }


def _no_container(docker_client: Any, name: str) -> bool:
    return not docker_client.containers.list(all=True, filters={"name": name})


def test_up_pulls_then_starts_offline_at_the_commit_with_no_route_to_the_hub(
    emulator_image: str, docker_client: Any, hub_standin: HubStandIn, tmp_path: Path, name: str
) -> None:
    env = hub_env(hub_standin, tmp_path / "hf-home", **_base_env(tmp_path, hub_standin.url))
    commit = hub_standin.repos[MODEL].resolve("main")
    args = ["--image", emulator_image, "--gpus", "none", "--port", str(free_port()), "--name", name]
    result = _run("up", "--json", *args, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    messages = [json.loads(line).get("message", "") for line in result.stdout.splitlines()]
    assert any(m.startswith(f"pulling {MODEL} at main into {tmp_path / 'cache' / 'hub'}") for m in messages)
    assert f"serving {MODEL} at commit {commit} from the cache, offline" in messages

    container = docker_client.containers.get(name)
    config = container.attrs["Config"]
    assert "HF_HUB_OFFLINE=1" in config["Env"]
    assert config["Cmd"][config["Cmd"].index("--revision") + 1] == commit
    # TGI's Rust side reads refs/<revision> even for a commit: `up` wrote it.
    repo = tmp_path / "cache" / "hub" / f"models--{MODEL.replace('/', '--')}"
    assert (repo / "refs" / commit).read_text() == commit
    logs = container.logs().decode()
    assert "Files are already present on the host. Skipping download." in logs
    assert "Download file:" not in logs

    # No route to the stand-in from inside: it listens on the host's loopback, which is not the container's.
    probe = container.exec_run(
        [
            "python3",
            "-c",
            f"import urllib.request as u; u.urlopen('{hub_standin.url}/api/models/{MODEL}', timeout=3)",
        ]
    )
    assert probe.exit_code != 0 and b"Connection refused" in probe.output
    seen = len(hub_standin.requests())
    status = _run("status", "--json", "--name", name, env=env, cwd=tmp_path)
    [row] = json.loads(status.stdout)
    assert row["revision"] == commit and row["phase"] == "ready"
    table = _run("status", "--name", name, env=env, cwd=tmp_path).stdout
    assert "REVISION" in table and commit[:12] in table
    assert len(hub_standin.requests()) == seen  # serving and `status` asked the Hub nothing

    # A second `up` pulls nothing (one listing of the revision) and finds the deployment unchanged.
    again = _run("up", *args, env=env, cwd=tmp_path)
    assert again.returncode == 0 and "already running" in again.stdout, again.stdout + again.stderr
    fetched = [
        r for r in hub_standin.requests()[seen:] if "/resolve/" in r["path"] or r["path"].startswith("/cdn/")
    ]
    assert fetched == []
    assert _run("down", "--name", name, env=env, cwd=tmp_path).returncode == 0


def test_up_offline_with_an_incomplete_cache_names_the_files_and_starts_nothing(
    emulator_image: str, docker_client: Any, tmp_path: Path, name: str
) -> None:
    build_cache(tmp_path / "cache" / "hub", omit=("model.safetensors", "tokenizer_config.json"))
    env = _base_env(tmp_path, f"http://127.0.0.1:{free_port()}")  # nothing listens: any Hub call would fail
    args = ["--image", emulator_image, "--gpus", "none", "--port", str(free_port()), "--name", name]
    result = _run("up", "--offline", *args, env=env, cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "that the engine needs offline: model.safetensors, tokenizer_config.json" in result.stderr
    assert "orchestrator pull" in result.stderr  # the fix
    assert _no_container(docker_client, name)
    # And with nothing cached at all: the missing ref is named.
    empty = tmp_path / "empty"
    result = _run(
        "up", "--offline", *args, env={**env, "ORCHESTRATOR_HOST__CACHE_DIR": str(empty)}, cwd=tmp_path
    )
    assert result.returncode == 3 and "refs/main is missing" in result.stderr, result.stderr
    assert _no_container(docker_client, name)


def test_up_locked_refuses_each_kind_of_drift(
    emulator_image: str, docker_client: Any, tmp_path: Path, name: str
) -> None:
    tag = f"lock-test-{uuid.uuid4().hex[:8]}/emulator:3.3.7"  # a local build: the lock pins its image id
    docker_client.images.get(emulator_image).tag(tag)
    try:
        snapshot = build_cache(tmp_path / "cache" / "hub")
        env = _base_env(tmp_path, f"http://127.0.0.1:{free_port()}")
        port = str(free_port())
        args = ["--image", tag, "--gpus", "none", "--port", port, "--name", name]
        written = _run("lock", "--offline", *args, env=env, cwd=tmp_path)
        assert written.returncode == 0, written.stdout + written.stderr
        assert f"wrote orchestrator.lock ({MODEL} main = {COMMIT}, 6 files)" in written.stdout
        lock = json.loads((tmp_path / "orchestrator.lock").read_text())
        assert lock["image"]["digest"] is None and lock["image"]["image_id"].startswith("sha256:")
        unchanged = _run("lock", "--offline", *args, env=env, cwd=tmp_path)
        assert unchanged.returncode == 0 and unchanged.stdout.strip().endswith(f"{COMMIT}, 6 files)")
        assert "unchanged: orchestrator.lock" in unchanged.stdout

        # No drift: it starts, offline, at the locked commit.
        started = _run("up", "--locked", "--offline", *args, env=env, cwd=tmp_path)
        assert started.returncode == 0, started.stdout + started.stderr
        [row] = json.loads(_run("status", "--json", "--name", name, env=env, cwd=tmp_path).stdout)
        assert row["revision"] == COMMIT and row["phase"] == "ready"
        assert _run("down", "--name", name, env=env, cwd=tmp_path).returncode == 0

        def refused(*extra: str, **changed_env: str) -> str:
            result = _run(
                "up", "--locked", "--offline", *args, *extra, env={**env, **changed_env}, cwd=tmp_path
            )
            assert result.returncode == 9, result.stdout + result.stderr
            assert _no_container(docker_client, name)
            return result.stderr

        # settings drift: named, old → new
        err = refused("--max-batch-prefill-tokens", "5000")
        assert "settings: settings changed: limits.max_batch_prefill_tokens: 4096 → 5000" in err
        assert "run `orchestrator lock` to accept it" in err

        # image drift: the same reference now names another build
        docker_client.images.get("tgi-orchestrator/base:bookworm").tag(tag)
        err = refused()
        assert f"image: local image {tag} is now id " in err and ", the lock has id " in err
        docker_client.images.get(emulator_image).tag(tag)

        # cache drift: a locked file rewritten in place
        blob = (snapshot / "config.json").resolve()
        blob.write_bytes(blob.read_bytes().replace(b"32768", b"32769"))
        err = refused()
        assert "cache: config.json has sha256 " in err and "orchestrator pull --revision " + COMMIT in err
        assert "the cache differs from" in err
    finally:
        docker_client.images.remove(tag, noprune=True)


def test_up_no_pull_lets_the_engine_download_from_hf_endpoint_through_the_downloading_phase(
    emulator_image: str, docker_client: Any, tmp_path: Path, name: str
) -> None:
    # The stand-in on the Docker bridge's gateway address: the one place both this host and the container reach.
    gateway = bridge_gateway(docker_client)
    with HubStandIn(host=gateway) as hub:
        env = _base_env(tmp_path, hub.url)
        args = ["--image", emulator_image, "--gpus", "none", "--port", str(free_port()), "--name", name]
        result = _run("up", "--json", "--no-pull", *args, env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        events = [json.loads(line) for line in result.stdout.splitlines()]
        downloading = [e for e in events if e.get("phase") == "downloading"]
        assert any("Download file: model.safetensors" in e.get("message", "") for e in downloading), events
        container = docker_client.containers.get(name)
        assert f"HF_ENDPOINT={hub.url}" in container.attrs["Config"]["Env"]
        assert "HF_HUB_OFFLINE=1" not in container.attrs["Config"]["Env"]
        logs = container.logs().decode()
        assert "Downloaded /data/hub/models--TheBloke--Mistral-7B-Instruct-v0.2-AWQ/snapshots/" in logs
        assert "Download: [1/1] -- ETA: 0" in logs
        # The engine's download filled the host cache through the mount.
        repo = tmp_path / "cache" / "hub" / f"models--{MODEL.replace('/', '--')}"
        assert (repo / "refs" / "main").read_text() == hub.repos[MODEL].resolve("main")
        assert any(r["path"].endswith("/resolve/main/model.safetensors") for r in hub.requests())
        assert _run("down", "--name", name, env=env, cwd=tmp_path).returncode == 0


def test_lock_pins_the_commit_so_up_locked_serves_it_after_the_branch_moves(
    emulator_image: str, docker_client: Any, hub_standin: HubStandIn, tmp_path: Path, name: str
) -> None:
    env = hub_env(hub_standin, tmp_path / "hf-home", **_base_env(tmp_path, hub_standin.url))
    args = ["--image", emulator_image, "--gpus", "none", "--port", str(free_port()), "--name", name]
    written = _run("lock", "--json", *args, env=env, cwd=tmp_path)  # pulls from the stand-in, then pins
    assert written.returncode == 0, written.stdout + written.stderr
    locked = json.loads(written.stdout.splitlines()[-1])["lock"]
    first = hub_standin.repos[MODEL].resolve("main")
    assert locked["model"]["commit"] == first and locked["model"]["requested_revision"] == "main"
    served = {f["path"]: f for f in locked["model"]["files"]}
    assert set(served) >= {"config.json", "model.safetensors", "tokenizer.json", "tokenizer.model"}

    # Upstream pushes a new config to main: the branch moves, the lock does not.
    config = json.loads(
        (
            tmp_path
            / "cache"
            / "hub"
            / f"models--{MODEL.replace('/', '--')}"
            / "snapshots"
            / first
            / "config.json"
        ).read_text()
    )
    config["max_position_embeddings"] = 1024
    second = hub_standin.repos[MODEL].commit([RepoFile("config.json", json.dumps(config).encode())])
    assert second != first
    result = _run("up", "--locked", "--json", *args, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    [row] = json.loads(_run("status", "--json", "--name", name, env=env, cwd=tmp_path).stdout)
    assert row["revision"] == first  # not the new head of main
    assert _run("down", "--name", name, env=env, cwd=tmp_path).returncode == 0
