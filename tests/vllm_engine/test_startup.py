"""vLLM's start-up as the wait sees it: its 0.33.0 log lines (vllm-server.md §3) move the phases, the wait is ready
after `/health` and a one-token `/v1/completions` over a real socket, and a silent download is judged by the cache
directory growing, not by log lines vLLM never prints."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.deploy.cache_growth import cache_bytes, cache_meter
from orchestrator.deploy.readiness import (
    Phase,
    ProgressEvent,
    StallLimits,
    StartupFailure,
    StartupTracker,
    wait_until_ready,
)
from orchestrator.deploy.status import BUSY, phase_without_health
from orchestrator.engines import engine_for
from tests.runtime.test_readiness import _FakeContainer, _Server

VLLM = engine_for("vllm")
A = "(APIServer pid=1) INFO 12-02 03:25:31 [startup.py:112]"
C = "(EngineCore pid=212) INFO 12-02 03:25:50 [gpu_model_runner.py:5089]"
VLLM_LOG = [
    f"{A} vLLM server version 0.33.0, serving model TheBloke/Mistral-7B-Instruct-v0.2-AWQ",
    f"{A} non-default args: {{'model_tag': 'TheBloke/Mistral-7B-Instruct-v0.2-AWQ', 'api_key': '***'}}",
    "(APIServer pid=1) INFO 12-02 03:25:40 [model.py:1755] Using max model len 4096",
    "(EngineCore pid=212) INFO 12-02 03:25:44 [core.py:140] Initializing a V1 LLM engine (v0.33.0) with config: ...",
    f"{C} Starting to load model TheBloke/Mistral-7B-Instruct-v0.2-AWQ...",
    f"{C} Time spent downloading weights for TheBloke/Mistral-7B-Instruct-v0.2-AWQ: 41.2 seconds",
    "Loading safetensors checkpoint shards: 100% Completed | 1/1 [00:01<00:00,  1.20s/it]",
    "(EngineCore pid=212) INFO 12-02 03:26:31 [default_loader.py:507] Loading weights took 1.25 seconds",
    f"{C} Model loading took 3.88 GiB memory and 43.01 seconds",
    "(EngineCore pid=212) INFO 12-02 03:26:40 [backends.py:548] Dynamo bytecode transform time: 5.12 s",
    "(EngineCore pid=212) INFO 12-02 03:26:55 [gpu_worker.py:773] Available KV cache memory: 64.31 GiB",
    "(EngineCore pid=212) INFO 12-02 03:26:55 [kv_cache_utils.py:1148] GPU KV cache size: 526,800 tokens, "
    "Maximum concurrency for 4,096 tokens per request: 128.61x",
    "Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%|██████████| 67/67 [00:04<00:00, 14.40it/s]",
    "(EngineCore pid=212) INFO 12-02 03:27:03 [gpu_model_runner.py:6517] Graph capturing finished in 6 secs, "
    "took 0.52 GiB",
    "(EngineCore pid=212) INFO 12-02 03:27:03 [core.py:413] init engine (profile, create kv cache, warmup model) "
    "took 31.22 seconds",
    "(APIServer pid=1) INFO 12-02 03:27:04 [entry.py:88] Starting vLLM server on http://0.0.0.0:8000",
    "(APIServer pid=1) INFO 12-02 03:27:04 [launcher.py:47] Route: /health, Methods: GET",
    "(APIServer pid=1) INFO:     Started server process [1]",
    "(APIServer pid=1) INFO:     Waiting for application startup.",
    "(APIServer pid=1) INFO:     Application startup complete.",
]


def test_log_lines_move_the_phases_in_order_and_only_uvicorns_line_means_serving() -> None:
    phases = [VLLM.phase_of_line(line) for line in VLLM_LOG]
    seen = [p for i, p in enumerate(phases) if p is not None and p not in phases[:i]]
    assert seen == [Phase.STARTING, Phase.DOWNLOADING, Phase.LOADING, Phase.WARMING_UP]
    assert phases[4] is Phase.DOWNLOADING and phases[7] is Phase.LOADING  # load model; weights loaded
    assert phases[10] is phases[12] is Phase.WARMING_UP  # KV cache sized; CUDA graphs
    assert [VLLM.is_serving_line(line) for line in VLLM_LOG] == [False] * (len(VLLM_LOG) - 1) + [True]
    assert not VLLM.is_useful_line(VLLM_LOG[16]) and VLLM.is_useful_line(VLLM_LOG[7])


@pytest.mark.parametrize(
    "line, shown",
    [
        (VLLM_LOG[7], "Loading weights took 1.25 seconds"),
        ("(APIServer pid=1) INFO:     Application startup complete.", "Application startup complete."),
        ("INFO:     Application startup complete.", "Application startup complete."),
        (
            "(EngineCore_DP0 pid=9) WARNING 12-02 03:26:02 [auto_awq.py:88] Layer 'lm_head' is not supported",
            "WARNING Layer 'lm_head' is not supported",
        ),
        (
            "INFO 12-26 02:09:12 api_server.py:643] vLLM API server version 0.5.4",
            "vLLM API server version 0.5.4",
        ),
        ("no prefix here", "no prefix here"),
    ],
)
def test_tidy_line_keeps_the_message(line: str, shown: str) -> None:
    assert VLLM.tidy_line(line) == shown


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.close()


def test_ready_after_startup_complete_health_and_a_one_token_completion(server: _Server) -> None:
    container = _FakeContainer()
    events: list[ProgressEvent] = []
    tracker = StartupTracker(StallLimits(), started=time.monotonic(), secrets=("sk-vllm-key-1",), engine=VLLM)

    def script() -> None:
        for line in VLLM_LOG:
            container.lines.put(line)
            time.sleep(0.01)
        server.open()  # vLLM listens right after `Application startup complete.`

    threading.Thread(target=script, daemon=True).start()
    wait_until_ready(container, server.endpoint, tracker, api_key="sk-vllm-key-1", on_event=events.append)
    phases = [e.phase for e in events if e.kind == "phase"]
    assert phases[:4] == [Phase.STARTING, Phase.DOWNLOADING, Phase.LOADING, Phase.WARMING_UP]
    assert events[-1].kind == "ready" and server.auth[-1] == "Bearer sk-vllm-key-1"
    assert VLLM.readiness_probe.path == "/v1/completions" and VLLM.readiness_probe.body["max_tokens"] == 1
    assert tracker.last_line == "Application startup complete."


def test_a_silent_download_is_progress_while_the_cache_grows_and_a_stall_when_it_stops(
    server: _Server, tmp_path: Path
) -> None:
    container = _FakeContainer()
    for line in VLLM_LOG[:5]:  # ... `Starting to load model`, then silence
        container.lines.put(line)
    blob = tmp_path / "hub" / "models--x" / "blobs" / "abc.incomplete"
    blob.parent.mkdir(parents=True)
    growing = threading.Event()

    def download() -> None:
        with blob.open("ab") as out:
            for _ in range(12):  # 1.2 s of growth, twice the stall limit
                out.write(b"x" * 1_000_000)
                out.flush()
                time.sleep(0.1)
        growing.set()

    events: list[ProgressEvent] = []
    tracker = StartupTracker(StallLimits(download=0.6), started=time.monotonic(), engine=VLLM)
    began = time.monotonic()
    threading.Thread(target=download, daemon=True).start()
    with pytest.raises(StartupFailure) as caught:
        wait_until_ready(
            container,
            server.endpoint,
            tracker,
            on_event=events.append,
            state_every=0.05,
            cache_size=cache_meter(tmp_path),
        )
    assert growing.is_set() and time.monotonic() - began > 1.2  # no stall while the cache grew
    assert caught.value.reason == "stalled" and caught.value.phase is Phase.DOWNLOADING
    assert "vLLM logs nothing while downloading and the cache did not grow" in str(caught.value)
    assert any("MB in the cache" in e.message for e in events)
    assert cache_bytes(tmp_path) == 12_000_000
    container.exit(0)


def test_without_a_cache_meter_the_same_silence_stalls_at_the_limit(server: _Server) -> None:
    container = _FakeContainer()
    for line in VLLM_LOG[:5]:
        container.lines.put(line)
    tracker = StartupTracker(StallLimits(download=0.4), started=time.monotonic(), engine=VLLM)
    began = time.monotonic()
    with pytest.raises(StartupFailure):
        wait_until_ready(container, server.endpoint, tracker, state_every=0.05)
    assert time.monotonic() - began < 1.2
    container.exit(0)


def test_status_phase_from_vllm_logs_restarts_count_from_the_last_start() -> None:
    assert phase_without_health(VLLM_LOG[:9], timed_out=False, engine=VLLM) == Phase.LOADING.label
    restarted = [*VLLM_LOG, *VLLM_LOG[:5]]
    assert phase_without_health(restarted, timed_out=False, engine=VLLM) == Phase.DOWNLOADING.label
    assert phase_without_health(VLLM_LOG, timed_out=True, engine=VLLM) == BUSY
