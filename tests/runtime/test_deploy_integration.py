"""`up / status / logs / down` for real: the emulator image on the real Docker Engine, over real sockets."""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.deploy import lifecycle as deploy
from orchestrator.deploy.readiness import Phase, ProgressEvent
from orchestrator.errors import DeploymentError
from orchestrator.runtime.containers import connect
from tests.runtime.conftest import SettingsFactory

pytestmark = [pytest.mark.docker, pytest.mark.slow]

HF_TOKEN = "hf_TESTtokenNEVERshownANYWHERE0123456789"
API_KEY = "sk-test-API-key-never-shown-4242"
PHASED = (
    "--emulator-download-seconds",
    "0.4",
    "--emulator-load-seconds",
    "0.4",
    "--emulator-warmup-seconds",
    "0.4",
)


def _post(endpoint: str, path: str, body: dict[str, Any], api_key: str | None) -> tuple[int, bytes]:
    host, port = endpoint.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def _stream(endpoint: str, tokens: int, api_key: str, out: dict[str, Any], started: threading.Event) -> None:
    host, port = endpoint.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    body = {"inputs": "Tell me a story", "parameters": {"max_new_tokens": tokens, "details": True}}
    conn.request(
        "POST",
        "/generate_stream",
        body=json.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"},
    )
    response = conn.getresponse()
    events = []
    for raw in response:
        line = raw.decode().strip()
        if line.startswith("data:"):
            events.append(json.loads(line[5:]))
            started.set()
    out["events"] = events


def test_lifecycle_up_status_logs_idempotence_recreate_and_draining_down(
    emulator_settings: SettingsFactory, docker_client: Any, isolated_env: Path
) -> None:
    settings = emulator_settings(
        *PHASED,
        "--emulator-decode-base-ms",
        "4",
        **{"secrets.hf_token": HF_TOKEN, "secrets.api_key": API_KEY},
    )
    events: list[ProgressEvent] = []
    info = deploy.up(settings, progress=events.append)

    # Every phase, in order, and ready only after /health and a one-token /generate.
    phases = [e.phase for e in events if e.kind in {"phase", "ready"}]
    order = [Phase.STARTING, Phase.DOWNLOADING, Phase.LOADING, Phase.WARMING_UP, Phase.READY]
    assert [p for p in order if p in phases] == order
    assert [phases.index(p) for p in order] == sorted(phases.index(p) for p in order)
    assert info.action == "created" and info.status == "running"
    assert info.endpoint == f"http://127.0.0.1:{settings.host.port}"
    assert all(API_KEY not in e.message and HF_TOKEN not in e.message for e in events)
    # The log stream followed during start-up is closed once ready (no thread left buffering logs).
    deadline = time.monotonic() + 3
    while any(t.name == "log-follow" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "log-follow" for t in threading.enumerate())

    # The endpoint answers (with the key; without it TGI answers 401).
    status, body = _post(
        info.endpoint, "/generate", {"inputs": "Hi", "parameters": {"max_new_tokens": 3}}, API_KEY
    )
    assert status == 200 and "generated_text" in json.loads(body)
    assert _post(info.endpoint, "/generate", {"inputs": "Hi"}, None)[0] == 401

    # docker inspect shows neither secret, in env, command, entrypoint or labels.
    raw = json.dumps(docker_client.api.inspect_container(info.container_id))
    assert HF_TOKEN not in raw and API_KEY not in raw
    assert (isolated_env / "cache").is_dir()

    # status: ready, with /info limits and /metrics load.
    [row] = deploy.status(settings.host.container_name)
    assert row.phase == "ready"
    assert row.limits["max_input_tokens"] == 3696 and row.limits["max_total_tokens"] == 4096
    assert row.queue_size == 0 and row.running_batch == 0
    assert row.info.uptime_seconds is not None and row.info.model == settings.model.id

    # logs: milestones present, secrets masked (the emulator logs Args like TGI does).
    lines = list(deploy.logs(settings.host.container_name, secrets=(API_KEY, HF_TOKEN)))
    text = "\n".join(lines)
    assert "Starting shard" in text and "Connected" in text
    assert API_KEY not in text and HF_TOKEN not in text
    assert len(list(deploy.logs(settings.host.container_name, tail=3))) == 3

    # find_deployment gives the endpoint (both module paths work).
    from orchestrator.deploy.lifecycle import find_deployment

    found = find_deployment(settings.host.container_name)
    assert found is not None and found.endpoint == info.endpoint

    # Restart policy is on-failure now that it is ready.
    policy = docker_client.api.inspect_container(info.container_id)["HostConfig"]["RestartPolicy"]
    assert policy["Name"] == "on-failure"

    # Same settings again: nothing to do.
    again = deploy.up(settings)
    assert again.action == "unchanged" and again.container_id == info.container_id

    # Different settings: refused with a hint, unless --recreate.
    changed = emulator_settings(
        *PHASED,
        "--emulator-decode-base-ms",
        "4",
        **{
            "secrets.hf_token": HF_TOKEN,
            "secrets.api_key": API_KEY,
            "limits.max_total_tokens": 4000,
            "host.port": settings.host.port,
        },
    )
    with pytest.raises(DeploymentError) as refused:
        deploy.up(changed)
    assert "--recreate" in refused.value.fix and refused.value.exit_code == 4
    assert "limits.max_total_tokens: 4096 → 4000" in str(
        refused.value
    )  # read back from the container's label
    assert str(refused.value).endswith("with different settings: limits.max_total_tokens: 4096 → 4000")
    assert API_KEY not in str(refused.value) and HF_TOKEN not in str(refused.value)
    recreated = deploy.up(changed, recreate=True)
    assert recreated.action == "recreated" and recreated.container_id != info.container_id
    [row] = deploy.status(settings.host.container_name)
    assert row.limits["max_total_tokens"] == 4000

    # down drains an in-flight stream: it completes with every token, then the container is gone.
    out: dict[str, Any] = {}
    started = threading.Event()
    reader = threading.Thread(target=_stream, args=(recreated.endpoint, 500, API_KEY, out, started))
    reader.start()
    assert started.wait(10)
    began = time.monotonic()
    removed = deploy.down(settings.host.container_name)
    took = time.monotonic() - began
    reader.join(30)
    assert removed == [settings.host.container_name]
    final = out["events"][-1]
    assert final["details"]["generated_tokens"] == 500 and final["details"]["finish_reason"] == "length"
    assert took < 15, "down should end with the drain, not at the grace limit"
    assert docker_client.containers.list(all=True, filters={"name": settings.host.container_name}) == []
    assert (isolated_env / "cache").is_dir()  # the weights cache stays
    assert not (
        isolated_env / "xdg-cache" / "tgi-orchestrator" / "secrets" / settings.host.container_name
    ).exists()

    # Stopping nothing is not an error.
    assert deploy.down(settings.host.container_name) == []


def _assert_gone(docker_client: Any, name: str) -> None:
    assert docker_client.containers.list(all=True, filters={"name": name}) == []


def test_crash_during_startup_is_diagnosed_and_cleaned(
    emulator_settings: SettingsFactory, docker_client: Any
) -> None:
    settings = emulator_settings("--emulator-crash-during-startup", "load")
    events: list[ProgressEvent] = []
    with pytest.raises(DeploymentError) as caught:
        deploy.up(settings, progress=events.append)
    error = caught.value
    assert error.exit_code == 4
    assert "exited with code 1 while loading shards" in str(error)
    assert "compute capability 8.0" in error.cause  # the emulator's "no kernel image" line
    assert any("Shard 0 failed to start" in line for line in error.log_tail)
    assert events[-1].kind == "failed"
    _assert_gone(docker_client, settings.host.container_name)


def test_warmup_oom_suggests_lower_prefill(emulator_settings: SettingsFactory, docker_client: Any) -> None:
    settings = emulator_settings("--emulator-warmup-oom")
    with pytest.raises(DeploymentError) as caught:
        deploy.up(settings)
    error = caught.value
    assert "out of memory" in error.cause
    assert "limits.max_batch_prefill_tokens to 2048" in error.fix
    assert "while warming up" in str(error)
    _assert_gone(docker_client, settings.host.container_name)


def test_stall_past_phase_limit_and_keep_failed(
    emulator_settings: SettingsFactory, docker_client: Any
) -> None:
    settings = emulator_settings("--emulator-load-seconds", "60", **{"timeouts.stall_load": 1.5})
    began = time.monotonic()
    with pytest.raises(DeploymentError) as caught:
        deploy.up(settings, keep_failed=True)
    assert time.monotonic() - began < 30
    assert "timeouts.stall_load" in str(caught.value)
    kept = docker_client.containers.list(all=True, filters={"name": settings.host.container_name})
    assert len(kept) == 1  # --keep-failed leaves it for inspection
    assert deploy.down(settings.host.container_name, grace=2) == [settings.host.container_name]
    _assert_gone(docker_client, settings.host.container_name)


def test_missing_image_is_explained(emulator_settings: SettingsFactory, docker_client: Any) -> None:
    settings = emulator_settings(image="tgi-orchestrator/emulator-missing:3.3.7")
    with pytest.raises(DeploymentError) as caught:
        deploy.up(settings)
    assert "tgi-orchestrator/emulator-missing:3.3.7" in str(caught.value)
    assert caught.value.cause and caught.value.fix
    _assert_gone(docker_client, settings.host.container_name)


def test_busy_port_refused_before_anything_starts(
    emulator_settings: SettingsFactory, docker_client: Any
) -> None:
    import socket

    from orchestrator.errors import RuntimeUnavailableError

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        settings = emulator_settings(**{"host.port": holder.getsockname()[1]})
        with pytest.raises(RuntimeUnavailableError) as caught:
            deploy.up(settings)
    assert caught.value.exit_code == 3 and "host.port" in str(caught.value)
    _assert_gone(docker_client, settings.host.container_name)


def test_gpus_without_nvidia_runtime(emulator_settings: SettingsFactory, docker_client: Any) -> None:
    from orchestrator.errors import RuntimeUnavailableError
    from orchestrator.launch.plan import build_plan

    settings = emulator_settings(**{"host.gpus": "all"})
    with pytest.raises(RuntimeUnavailableError) as caught:
        deploy.up(settings)
    assert "NVIDIA Container Toolkit" in str(caught.value) and caught.value.exit_code == 3
    _assert_gone(docker_client, settings.host.container_name)

    # Past preflight, the engine's own refusal leaves no `Created` container behind either.
    runtime = connect()
    settings.cache_dir.mkdir(parents=True, exist_ok=True)  # preflight would have created it
    plan = build_plan(settings, gpu_count=1)
    container_id = runtime.create(plan)
    with pytest.raises(RuntimeUnavailableError, match="NVIDIA Container Toolkit"):
        runtime.start(
            container_id, name=plan.container_name, port=settings.host.port, bind_address="127.0.0.1"
        )
    _assert_gone(docker_client, settings.host.container_name)


def test_foreign_container_with_our_name_is_not_touched(
    emulator_settings: SettingsFactory, docker_client: Any, emulator_image: str
) -> None:
    from orchestrator.errors import RuntimeUnavailableError

    settings = emulator_settings()
    foreign = docker_client.containers.create(emulator_image, name=settings.host.container_name)
    try:
        with pytest.raises(RuntimeUnavailableError, match="did not create"):
            deploy.up(settings)
        assert deploy.down(settings.host.container_name) == []
        foreign.reload()
        assert foreign.status == "created"
    finally:
        foreign.remove(force=True)


def test_second_up_attaches_rotated_key_needs_recreate_and_logs_follow_ends(
    emulator_settings: SettingsFactory,
) -> None:
    settings = emulator_settings("--emulator-warmup-seconds", "2", **{"secrets.api_key": API_KEY})
    first: dict[str, Any] = {}
    starter = threading.Thread(target=lambda: first.update(info=deploy.up(settings)))
    starter.start()
    deadline = time.monotonic() + 20
    while deploy.find_deployment(settings.host.container_name) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    # A second `up` while the first is still warming up waits for the same container.
    second = deploy.up(settings)
    starter.join(30)
    assert second.action == "attached" and second.container_id == first["info"].container_id

    # A new API key does not change the settings hash; the running server rejects it: say so, fast.
    rotated = emulator_settings(
        "--emulator-warmup-seconds",
        "2",
        **{"secrets.api_key": "sk-rotated-key-0000", "host.port": settings.host.port},
    )
    began = time.monotonic()
    with pytest.raises(DeploymentError) as caught:
        deploy.up(rotated)
    assert time.monotonic() - began < 5 and "--recreate" in caught.value.fix
    assert "sk-rotated-key-0000" not in str(caught.value)

    # Following the logs ends when the container stops.
    followed: list[str] = []
    follower = threading.Thread(
        target=lambda: followed.extend(deploy.logs(settings.host.container_name, follow=True, tail=1))
    )
    follower.start()
    recreated = deploy.up(rotated, recreate=True)
    follower.join(30)
    assert not follower.is_alive() and any("graceful shutdown" in line for line in followed)
    assert recreated.action == "recreated" and recreated.container_id != second.container_id
    deploy.down(settings.host.container_name, grace=10)


def test_crash_after_ready_is_restarted_by_the_engine(
    emulator_settings: SettingsFactory, docker_client: Any
) -> None:
    settings = emulator_settings("--emulator-crash-after-requests", "2")
    info = deploy.up(settings)  # readiness sends generation request 1
    # Request 2 kills the "shard": like TGI it answers 424 and the server exits with code 1.
    body = {"inputs": "Hi", "parameters": {"max_new_tokens": 2}}
    assert _post(info.endpoint, "/generate", body, None)[0] == 424
    deadline = time.monotonic() + 30
    restarts = 0
    while time.monotonic() < deadline:
        restarts = docker_client.api.inspect_container(info.container_id)["RestartCount"]
        if restarts >= 1 and deploy.status(settings.host.container_name)[0].phase == "ready":
            break
        time.sleep(0.2)
    assert restarts >= 1, "on-failure restart policy should have restarted the crashed server"
    assert (
        _post(info.endpoint, "/generate", {"inputs": "Hi", "parameters": {"max_new_tokens": 2}}, None)[0]
        == 200
    )
