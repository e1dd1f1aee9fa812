"""Readiness: pure phase detection and stall rules, then the wait loop against a real HTTP server on loopback.

The container side is a fake `ContainerTarget` (scripted log lines and state); the HTTP side is a real server
whose `/health` and `/generate` we switch on at a known moment.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from orchestrator.deploy.readiness import (
    EXIT_DRAIN_S,
    Phase,
    ProgressEvent,
    StallLimits,
    StartupFailure,
    StartupTracker,
    probe_generate,
    probe_health,
    wait_until_ready,
)
from orchestrator.engines.tgi import ENGINE as TGI
from orchestrator.engines.tgi.log_lines import is_useful_line, phase_of_line, tidy_line

TS = "2026-01-05T10:00:00.000000Z"
TGI_LOG = [
    f'{TS}  INFO text_generation_launcher: Args {{ model_id: "TheBloke/Mistral-7B-Instruct-v0.2-AWQ", '
    'api_key: Some("sk-test-123"), port: 80 }',
    f"{TS}  INFO text_generation_launcher: Using attention flashinfer - Prefix caching true",
    f"{TS}  INFO download: text_generation_launcher: Starting check and download process for TheBloke/...",
    f"{TS}  INFO text_generation_launcher: Download file: model.safetensors",
    f"{TS}  INFO text_generation_launcher: Successfully downloaded weights for TheBloke/...",
    f"{TS}  INFO shard-manager: text_generation_launcher: Starting shard rank=0",
    f"{TS}  INFO shard-manager: text_generation_launcher: Waiting for shard to be ready... rank=0",
    f"{TS}  INFO text_generation_launcher: Server started at unix:///tmp/text-generation-server-0",
    f"{TS}  INFO shard-manager: text_generation_launcher: Shard ready in 12.3s rank=0",
    f"{TS}  INFO text_generation_launcher: Starting Webserver",
    f"{TS}  INFO text_generation_router_v3: backends/v3/src/lib.rs:125: Warming up model",
    f"{TS}  INFO text_generation_router_v3: backends/v3/src/lib.rs:137: Setting max batch total tokens to 90000",
    f"{TS}  INFO text_generation_router::server: router/src/server.rs:2400: Connected",
]
EXPECTED_PHASES = [
    Phase.STARTING,
    None,
    Phase.DOWNLOADING,
    Phase.DOWNLOADING,
    Phase.DOWNLOADING,
    Phase.LOADING,
    Phase.LOADING,
    Phase.LOADING,
    Phase.LOADING,
    Phase.WARMING_UP,
    Phase.WARMING_UP,
    Phase.WARMING_UP,
    Phase.WARMING_UP,
]


def test_milestones_map_to_phases() -> None:
    assert [phase_of_line(line) for line in TGI_LOG] == EXPECTED_PHASES


def test_json_log_lines_are_understood() -> None:
    line = json.dumps(
        {"timestamp": TS, "level": "INFO", "fields": {"message": "Starting shard"}, "target": "x"}
    )
    assert phase_of_line(line) is Phase.LOADING


def test_tracker_moves_forward_only_and_redacts() -> None:
    tracker = StartupTracker(StallLimits(), started=0.0, secrets=("sk-test-123",))
    changes = [tracker.observe(line, float(i)) for i, line in enumerate(TGI_LOG)]
    assert [c for c in changes if c] == [Phase.DOWNLOADING, Phase.LOADING, Phase.WARMING_UP]
    assert tracker.connected
    assert all("sk-test-123" not in line for line in tracker.tail)
    assert tracker.last_line == "Connected"
    assert tracker.observe(TGI_LOG[2], 20.0) is None  # a late download line does not move it back
    assert tracker.phase is Phase.WARMING_UP
    assert not is_useful_line(TGI_LOG[6])


def test_stall_rules() -> None:
    limits = StallLimits(pull=5, download=10, load=20, warmup=30, deadline=100)
    tracker = StartupTracker(limits, started=0.0)
    assert tracker.stall(19.0) is None
    assert "timeouts.stall_load" in (tracker.stall(21.0) or "")  # starting counts against the load limit
    tracker.enter(Phase.DOWNLOADING, 21.0)
    tracker.observe("Download: [1/3] -- ETA: 0:01:00", 30.0)
    assert tracker.stall(39.0) is None  # download stalls only without new lines
    assert "timeouts.stall_download" in (tracker.stall(41.0) or "")
    tracker.enter(Phase.WARMING_UP, 41.0)
    assert tracker.stall(70.0) is None
    assert "timeouts.stall_warmup" in (tracker.stall(72.0) or "")
    assert "startup_deadline" in (tracker.stall(101.0) or "")


class _Server:
    """A loopback HTTP server whose /health and /generate answer 200 once `open()` is called."""

    def __init__(self, generate_status: int = 200) -> None:
        self.ready = threading.Event()
        self.opened_at: float | None = None
        self.generate_status = generate_status
        self.auth: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def _answer(self, status: int, body: bytes = b"") -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if not outer.ready.is_set():  # like docker-proxy before TGI binds: accept, then hang up
                    self.close_connection = True
                    return
                self._answer(200)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.auth.append(self.headers.get("Authorization"))
                status = outer.generate_status if outer.ready.is_set() else 503
                self._answer(status, b'{"generated_text":"!"}')

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def open(self) -> None:
        self.opened_at = time.monotonic()
        self.ready.set()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _FakeContainer:
    """Scripted log lines fed through a queue; `exit(code)` ends the stream like a stopped container."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.state: tuple[str, int | None] = ("running", None)

    def status(self) -> tuple[str, int | None]:
        return self.state

    def follow_logs(self) -> Iterator[str]:
        while (line := self.lines.get()) is not None:
            yield line

    def exit(self, code: int) -> None:
        self.state = ("exited", code)
        self.lines.put(None)


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.close()


def test_probes_against_a_real_socket(server: _Server) -> None:
    assert probe_health(server.endpoint, TGI.routes.health) is None
    server.open()
    assert probe_health(server.endpoint, TGI.routes.health) == 200
    assert probe_generate(server.endpoint, TGI.readiness_probe, api_key="k") == (True, "")
    assert server.auth[-1] == "Bearer k"
    assert (
        probe_health("http://127.0.0.1:9", TGI.routes.health) is None
    )  # nothing listens on the discard port


def test_ready_soon_after_health_turns_200(server: _Server) -> None:
    container = _FakeContainer()
    events: list[ProgressEvent] = []
    tracker = StartupTracker(StallLimits(), started=time.monotonic(), secrets=("sk-test-123",))

    def script() -> None:
        for line in TGI_LOG:
            container.lines.put(line)
            time.sleep(0.01)
        time.sleep(0.3)
        server.open()

    threading.Thread(target=script, daemon=True).start()
    wait_until_ready(container, server.endpoint, tracker, api_key="sk-test-123", on_event=events.append)
    latency = time.monotonic() - (server.opened_at or 0)
    assert latency < 0.25
    phases = [e.phase for e in events if e.kind == "phase"]
    assert phases[:4] == [Phase.STARTING, Phase.DOWNLOADING, Phase.LOADING, Phase.WARMING_UP]
    assert events[-1].kind == "ready" and events[-1].phase is Phase.READY
    assert not any("sk-test-123" in e.message for e in events)


def test_exit_fails_fast_with_log_tail(server: _Server) -> None:
    container = _FakeContainer()
    for line in TGI_LOG[:6]:
        container.lines.put(line)
    container.lines.put("Error: Shard 0 failed to start")
    threading.Timer(0.2, container.exit, args=(1,)).start()
    tracker = StartupTracker(StallLimits(), started=time.monotonic())
    began = time.monotonic()
    with pytest.raises(StartupFailure) as caught:
        wait_until_ready(container, server.endpoint, tracker)
    assert time.monotonic() - began < 1.0
    assert caught.value.reason == "exited" and caught.value.exit_code == 1
    assert caught.value.phase is Phase.LOADING
    assert caught.value.log_tail[-1] == "Error: Shard 0 failed to start"


def test_exit_seen_before_the_last_lines_still_names_their_phase(server: _Server) -> None:
    """Docker can report "exited" before the log follower has queued the container's last lines (CI saw a
    crash while loading reported as "while starting"): the wait reads the rest of the stream first."""
    container = _FakeContainer()
    container.state = ("exited", 1)  # the state is already final; the lines are still on their way

    def late_lines() -> None:
        time.sleep(0.3)
        for line in TGI_LOG[:6]:
            container.lines.put(line)
        container.lines.put("Error: Shard 0 failed to start")
        container.lines.put(None)

    threading.Thread(target=late_lines, daemon=True).start()
    tracker = StartupTracker(StallLimits(), started=time.monotonic())
    with pytest.raises(StartupFailure) as caught:
        wait_until_ready(container, server.endpoint, tracker)
    assert caught.value.phase is Phase.LOADING
    assert "while loading" in str(caught.value)
    assert caught.value.log_tail[-1] == "Error: Shard 0 failed to start"


def test_exit_with_a_stream_that_never_ends_is_reported_within_the_drain_limit(server: _Server) -> None:
    container = _FakeContainer()
    container.state = ("exited", 137)  # no line and no end of stream ever comes
    began = time.monotonic()
    with pytest.raises(StartupFailure) as caught:
        wait_until_ready(container, server.endpoint, StartupTracker(StallLimits(), started=began))
    assert caught.value.exit_code == 137 and caught.value.phase is Phase.STARTING
    assert time.monotonic() - began < EXIT_DRAIN_S + 1.0
    container.lines.put(None)


def test_stall_past_phase_limit(server: _Server) -> None:
    container = _FakeContainer()
    for line in TGI_LOG[:6]:
        container.lines.put(line)
    tracker = StartupTracker(StallLimits(load=0.5), started=time.monotonic())
    with pytest.raises(StartupFailure) as caught:
        wait_until_ready(container, server.endpoint, tracker)
    assert caught.value.reason == "stalled" and "timeouts.stall_load" in str(caught.value)
    container.exit(0)


def test_health_without_working_generate_is_not_ready(server: _Server) -> None:
    server.generate_status = 500
    server.open()
    container = _FakeContainer()
    container.lines.put(TGI_LOG[-1])
    events: list[ProgressEvent] = []
    tracker = StartupTracker(StallLimits(warmup=0.8), started=time.monotonic())
    with pytest.raises(StartupFailure):
        wait_until_ready(container, server.endpoint, tracker, on_event=events.append, tick_every=0.2)
    assert any("/generate answered 500" in e.message for e in events if e.kind == "waiting")
    container.exit(0)


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (TGI_LOG[5], "Starting shard rank=0"),
        (TGI_LOG[11], "Setting max batch total tokens to 90000"),
        (
            f"{TS} ERROR warmup{{max_input_length=Some(3696)}}: text_generation_router_v3::client: boom",
            "ERROR boom",
        ),
        (
            '{"timestamp":"t","level":"INFO","fields":{"message":"Starting shard"},"target":"x"}',
            "Starting shard",
        ),
        (
            '{"timestamp":"t","level":"WARN","message":"Invalid hostname","target":"r"}',
            "WARN Invalid hostname",
        ),
        ("plain output", "plain output"),
    ],
)
def test_tidy_line(line: str, shown: str) -> None:
    assert tidy_line(line) == shown
