"""`up --engine vllm --image <vLLM emulator image>` through the real Docker Engine, the same code path as the real
`vllm/vllm-openai` image: ready, `status` under load, `down` during a live stream loses nothing, and failures are
diagnosed with no container left behind."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.config.settings import Settings
from orchestrator.deploy import lifecycle as deploy
from orchestrator.deploy.readiness import Phase, ProgressEvent
from orchestrator.errors import DeploymentError
from tests.fixtures.emulator import free_port
from tests.runtime.conftest import MANAGED

pytestmark = [pytest.mark.docker, pytest.mark.slow]

API_KEY = "sk-vllm-lifecycle-key-0042"
HF_TOKEN = "hf_VLLMtokenNEVERshownANYWHERE012345"


Factory = Callable[..., Settings]


@pytest.fixture
def vllm_settings(isolated_env: Path, emulator_vllm_image: str, deployment_name: str) -> Factory:
    def factory(*emulator_args: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "engine.kind": "vllm",
            "engine.image": emulator_vllm_image,
            "engine.extra_args": ["--emulator-profile", "instant", *emulator_args],
            "host.gpus": "none",
            "host.port": free_port(),
            "host.cache_dir": str(isolated_env / "cache"),
            "host.container_name": deployment_name,
            "timeouts.startup_deadline": 120.0,
            "timeouts.stop_grace": 40.0,
        }
        values.update({k.replace("__", "."): v for k, v in overrides.items()})
        return load_settings(values, env_file=None)

    return factory


def _request(endpoint: str, path: str, body: dict[str, Any] | None, key: str | None) -> tuple[int, bytes]:
    host, port = endpoint.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    conn.request(
        "POST" if body is not None else "GET", path, body=json.dumps(body) if body else None, headers=headers
    )
    response = conn.getresponse()
    return response.status, response.read()


def _stream(endpoint: str, tokens: int, out: dict[str, Any], first: threading.Event) -> None:
    host, port = endpoint.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    body = {"prompt": "[INST] Tell me a story [/INST]", "max_tokens": tokens, "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    conn.request("POST", "/v1/completions", body=json.dumps(body),
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"})  # fmt: skip
    response = conn.getresponse()
    out["status"] = response.status
    events: list[str] = []
    for raw in response:
        line = raw.decode().strip()
        if line.startswith("data: "):
            events.append(line[6:])
            first.set()
    out["events"] = events


def _no_container(docker_client: Any, name: str) -> bool:
    return not [
        c for c in docker_client.containers.list(all=True, filters={"label": MANAGED}) if c.name == name
    ]


def test_up_ready_status_under_load_and_down_during_a_stream_loses_nothing(
    vllm_settings: Factory, docker_client: Any
) -> None:
    settings = vllm_settings(
        "--emulator-download-seconds", "0.4", "--emulator-load-seconds", "0.4", "--emulator-warmup-seconds", "0.4",
        "--emulator-decode-base-ms", "25",
        **{"secrets.api_key": API_KEY, "secrets.hf_token": HF_TOKEN},
    )  # fmt: skip
    events: list[ProgressEvent] = []
    info = deploy.up(settings, progress=events.append)

    # Ready after vLLM's phases, /health and a one-token /v1/completions.
    phases = [e.phase for e in events if e.kind in {"phase", "ready"}]
    order = [Phase.STARTING, Phase.DOWNLOADING, Phase.LOADING, Phase.WARMING_UP, Phase.READY]
    assert [p for p in order if p in phases] == order, phases
    assert info.engine == "vllm" and info.action == "created" and info.status == "running"
    assert all(API_KEY not in e.message and HF_TOKEN not in e.message for e in events)
    raw = json.dumps(docker_client.api.inspect_container(info.container_id))
    assert API_KEY not in raw and HF_TOKEN not in raw
    assert '"org.tgi-orchestrator.engine": "vllm"' in raw

    # The key reached vLLM as VLLM_API_KEY: 401 {"error":"Unauthorized"} without it, 200 with it.
    status, body = _request(info.endpoint, "/v1/completions", {"prompt": "Hi", "max_tokens": 2}, None)
    assert status == 401 and json.loads(body) == {"error": "Unauthorized"}
    status, body = _request(info.endpoint, "/v1/chat/completions",
                            {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}, API_KEY)  # fmt: skip
    assert status == 200 and json.loads(body)["model"] == settings.model.id  # --served-model-name

    # status under load: running requests and KV-cache usage from vllm: gauges.
    loads: list[dict[str, Any]] = [{} for _ in range(4)]
    started = [threading.Event() for _ in loads]
    threads = [
        threading.Thread(target=_stream, args=(info.endpoint, 120, out, ev))
        for out, ev in zip(loads, started, strict=True)
    ]
    for thread in threads:
        thread.start()
    assert all(ev.wait(30) for ev in started)
    [row] = deploy.status(settings.host.container_name)
    assert row.phase == "ready" and row.info.engine == "vllm"
    assert row.running_batch is not None and row.running_batch >= 1
    assert row.queue_size == 0 and row.kv_cache_usage is not None and 0 < row.kv_cache_usage <= 1
    for thread in threads:
        thread.join(60)

    # logs: vLLM's own lines, secrets masked.
    text = "\n".join(deploy.logs(settings.host.container_name, secrets=(API_KEY, HF_TOKEN)))
    assert "vLLM server version 0.33.0" in text and "Application startup complete." in text
    assert API_KEY not in text

    # down during a live stream: vLLM drains (--shutdown-timeout 30) and the stream ends whole.
    live: dict[str, Any] = {}
    first = threading.Event()
    streamer = threading.Thread(target=_stream, args=(info.endpoint, 80, live, first))
    streamer.start()
    assert first.wait(30)
    began = time.monotonic()
    assert deploy.down(settings.host.container_name) == [settings.host.container_name]
    streamer.join(60)
    assert time.monotonic() - began < 35
    assert live["status"] == 200 and live["events"][-1] == "[DONE]"
    chunks = [json.loads(e) for e in live["events"][:-1]]
    usage = [c["usage"] for c in chunks if c.get("usage")]
    assert usage and usage[-1]["completion_tokens"] == 80
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "length"
    assert _no_container(docker_client, settings.host.container_name)


@pytest.mark.parametrize(
    "args, key, words",
    [
        (("--emulator-warmup-oom",), "no_kv_cache_room", "limits.gpu_memory_fraction"),
        (("--emulator-kv-cache-tokens", "1000"), "kv_cache_below_max_len", "limits.max_total_tokens to 768"),
    ],
)
def test_a_failed_start_is_diagnosed_and_no_container_is_left(
    vllm_settings: Factory, docker_client: Any, args: tuple[str, ...], key: str, words: str
) -> None:
    settings = vllm_settings(*args, **{"secrets.api_key": API_KEY})
    with pytest.raises(DeploymentError) as caught:
        deploy.up(settings)
    error = caught.value
    assert words in (error.fix or ""), (error.cause, error.fix)
    assert any("EngineCore failed to start" in line for line in error.log_tail)
    found = settings.serving_engine.diagnose(error.log_tail, _ctx(settings), ())
    assert found is not None and found.key == key
    assert _no_container(docker_client, settings.host.container_name)
    assert all(API_KEY not in line for line in error.log_tail)


def _ctx(settings: Settings) -> Any:
    from orchestrator.engines.diagnosis import DiagnosisContext

    return DiagnosisContext(max_total_tokens=settings.limits.max_total_tokens)
