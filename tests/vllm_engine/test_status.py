"""`status` of a vLLM deployment: running, waiting and KV-cache usage from its `vllm:` gauges on a real socket, and a
container whose engine label this orchestrator does not know is shown, not a crash."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from orchestrator.cli.deploy_cmd import STATUS_HEADERS, status_rows
from orchestrator.deploy.status import probe_status
from orchestrator.launch.labels import label
from orchestrator.runtime.values import ContainerInfo

METRICS = b"""# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="TheBloke/Mistral-7B-Instruct-v0.2-AWQ"} 7.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="TheBloke/Mistral-7B-Instruct-v0.2-AWQ"} 3.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="TheBloke/Mistral-7B-Instruct-v0.2-AWQ"} 0.4375
# TYPE vllm:request_success_total counter
vllm:request_success_total{engine="0",finished_reason="length",model_name="x"} 12.0
"""


@pytest.fixture
def vllm_server() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            body = {"/health": b"", "/metrics": METRICS}.get(self.path)
            self.send_response(200 if body is not None else 404)
            payload = body if body is not None else b'{"detail":"Not Found"}'
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


class _Runtime:
    def logs(self, container_id: str, tail: int | None = None) -> list[str]:
        return []


def _container(port: int, engine: str, status: str = "running") -> ContainerInfo:
    labels = {
        label("managed"): "true",
        label("name"): "vllm-mistral",
        label("engine"): engine,
        label("port"): str(port),
        label("bind-address"): "127.0.0.1",
    }
    exit_code = 0 if status == "exited" else None
    return ContainerInfo(
        "c1",
        "vllm-mistral",
        "vllm/vllm-openai:v0.33.0",
        status,
        exit_code,
        False,
        "",
        None,
        None,
        0,
        None,
        labels,
    )


def test_status_reads_running_waiting_and_kv_cache_usage_from_vllm_metrics(vllm_server: int) -> None:
    row = probe_status(_Runtime(), _container(vllm_server, "vllm"))  # type: ignore[arg-type]
    assert row.phase == "ready"
    assert (row.running_batch, row.queue_size, row.kv_cache_usage) == (7, 3, 0.4375)
    assert row.limits == {}  # vLLM has no /info; nothing is made up
    data = row.to_json()
    assert data["engine"] == "vllm" and data["kv_cache_usage"] == 0.4375
    assert status_rows([row])[0][STATUS_HEADERS.index("QUEUE/BATCH")] == "3/7 kv 44%"


def test_an_unknown_engine_label_is_shown_not_a_crash(vllm_server: int) -> None:
    row = probe_status(_Runtime(), _container(vllm_server, "sglang"))  # type: ignore[arg-type]
    assert row.phase == "running; engine 'sglang' unknown to this orchestrator"
    row = probe_status(_Runtime(), _container(vllm_server, "sglang", "exited"))  # type: ignore[arg-type]
    assert row.phase == "exited (0); engine 'sglang' unknown to this orchestrator"


class _DeadRuntime:
    """A vLLM whose engine core died while serving: the server stopped, maybe with exit code 0."""

    def logs(self, container_id: str, tail: int | None = None) -> list[str]:
        return [
            "(APIServer pid=1) INFO:     Application startup complete.",
            "(EngineCore pid=212) ERROR 12-02 04:01:12 [core.py:1120] EngineCore encountered a fatal error.",
            "vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for "
            "the root cause.",
        ]


def test_an_exited_vllm_says_its_engine_died_while_serving(vllm_server: int) -> None:
    row = probe_status(_DeadRuntime(), _container(vllm_server, "vllm", "exited"))  # type: ignore[arg-type]
    assert row.phase.startswith("exited (0): vLLM's engine core process died while serving")
    assert probe_status(_Runtime(), _container(vllm_server, "vllm", "exited")).phase == "exited (0)"  # type: ignore[arg-type]
