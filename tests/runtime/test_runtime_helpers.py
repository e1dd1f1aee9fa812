"""The runtime's small translations between our values and the Docker API (no engine needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.launch.plan import GpuRequest
from orchestrator.runtime.containers import _capabilities, _device_request
from orchestrator.runtime.values import (
    exposed_port,
    info_from_attrs,
    layer_id,
    parse_docker_time,
    split_image,
    split_lines,
)


def test_docker_times() -> None:
    assert parse_docker_time("2026-11-27T07:31:22.390726123Z") == datetime(
        2026, 11, 27, 7, 31, 22, 390726, UTC
    )
    assert parse_docker_time("0001-01-01T00:00:00Z") is None
    assert parse_docker_time(None) is None


def test_log_frames_are_rebuilt_into_lines() -> None:
    frames = [b"Args {\nStart", b"ing shard\r\n", b"", b"partial"]
    assert list(split_lines(iter(frames))) == ["Args {", "Starting shard", "partial"]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (
            "ghcr.io/huggingface/text-generation-inference:3.3.7",
            ("ghcr.io/huggingface/text-generation-inference", "3.3.7"),
        ),
        ("127.0.0.1:5000/tgi-emulator:3.3.7", ("127.0.0.1:5000/tgi-emulator", "3.3.7")),
        ("127.0.0.1:5000/tgi-emulator", ("127.0.0.1:5000/tgi-emulator", "latest")),
        ("repo/x@sha256:abc", ("repo/x", "sha256:abc")),
    ],
)
def test_split_image(image: str, expected: tuple[str, str]) -> None:
    assert split_image(image) == expected


def test_pull_layer_ids_and_ports() -> None:
    assert layer_id("a3ed95caeb02") == "a3ed95caeb02"
    assert layer_id("3.3.7") == "" and layer_id(None) == ""
    assert exposed_port("80/tcp") == 80 and exposed_port("53/udp") == (53, "udp")


def test_gpu_requests_like_the_docker_cli() -> None:
    everything = _device_request(GpuRequest(count=-1, device_ids=None, capabilities=[["gpu"]]))
    assert everything["Count"] == -1 and everything["Capabilities"] == [["gpu"]]
    some = _device_request(GpuRequest(count=None, device_ids=["0", "1"], capabilities=[["gpu"]]))
    assert some["DeviceIDs"] == ["0", "1"] and some["Count"] == 0
    assert _capabilities(["gpu", "utility"]) == [["gpu", "utility"]] and _capabilities(None) == [["gpu"]]


def test_container_info_from_inspect() -> None:
    attrs = {
        "Id": "abc",
        "Name": "/tgi-mistral",
        "RestartCount": 2,
        "Config": {"Image": "img:1", "Labels": {"org.tgi-orchestrator.managed": "true"}, "StopTimeout": 120},
        "State": {
            "Status": "exited",
            "ExitCode": 1,
            "OOMKilled": False,
            "StartedAt": "2026-11-27T07:00:00Z",
            "FinishedAt": "2026-11-27T07:01:00.5Z",
        },
    }
    info = info_from_attrs(attrs)
    assert info.name == "tgi-mistral" and info.exit_code == 1 and info.managed and not info.running
    assert info.stop_timeout == 120 and info.restart_count == 2 and info.health is None
    assert info.finished_at is not None and info.started_at is not None
    running = info_from_attrs({**attrs, "State": {"Status": "running", "ExitCode": 0}})
    assert running.running and running.exit_code is None
