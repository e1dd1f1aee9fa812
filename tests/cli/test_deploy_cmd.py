"""`orchestrator up / down / status / logs`: thin commands over `orchestrator.deploy.lifecycle`.

CliRunner tests patch the one library call and check what reaches it and what is printed; process tests run the
real console script (no engine behind DOCKER_HOST, and the emulator image on the real engine).
"""

from __future__ import annotations

import json
import signal
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.deploy import lifecycle as deploy
from orchestrator.deploy.lifecycle import DeploymentInfo, DeploymentStatus
from orchestrator.errors import DeploymentError
from tests.fixtures.emulator import free_port
from tests.helpers import ORCHESTRATOR, clean_environ, isolate, run_orchestrator

INFO = DeploymentInfo(
    name="tgi-mistral",
    container_id="c0ffee",
    model="TheBloke/Mistral-7B-Instruct-v0.2-AWQ",
    image="tgi-orchestrator/emulator:3.3.7",
    tgi_version="3.3.7",
    endpoint="http://127.0.0.1:8080",
    status="running",
    port=8080,
    bind_address="127.0.0.1",
    gpus="none",
    settings_hash="abc",
    started_at=datetime.now(UTC) - timedelta(seconds=125),
    action="created",
    ready_seconds=3.2,
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path, cache_home=False)


def test_up_passes_flags_and_prints_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_up(settings: Any, **kwargs: Any) -> DeploymentInfo:
        seen.update(kwargs, settings=settings)
        return INFO

    monkeypatch.setattr(deploy, "up", fake_up)
    result = CliRunner().invoke(
        app, ["up", "--gpus", "none", "--port", "8123", "--recreate", "--keep-failed"]
    )
    assert result.exit_code == 0, result.output
    assert seen["recreate"] is True and seen["keep_failed"] is True
    assert seen["settings"].host.port == 8123 and seen["settings"].host.gpus == "none"
    assert "ready in 3.2s at http://127.0.0.1:8080" in result.stdout


def test_up_failure_prints_cause_fix_and_log_tail_and_exits_4(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_up(settings: Any, **kwargs: Any) -> DeploymentInfo:
        raise DeploymentError(
            "tgi-mistral: the container exited with code 1 while warming up",
            cause="out of memory",
            fix="lower limits.max_batch_prefill_tokens to 2048",
            log_tail=["line one", "Webserver Crashed"],
        )

    monkeypatch.setattr(deploy, "up", failing_up)
    result = CliRunner().invoke(app, ["up", "--gpus", "none"])
    assert result.exit_code == 4
    assert "Cause: out of memory" in result.stderr and "Fix:   lower" in result.stderr
    assert "  | Webserver Crashed" in result.stderr

    result = CliRunner().invoke(app, ["up", "--gpus", "none", "--json"])
    assert result.exit_code == 4
    error = json.loads(result.stdout.strip().splitlines()[-1])
    assert (
        error["event"] == "error" and error["exit_code"] == 4 and error["log_tail"][-1] == "Webserver Crashed"
    )


def test_up_json_emits_events_then_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.deploy.readiness import Phase, ProgressEvent

    def fake_up(settings: Any, *, progress: Any, **kwargs: Any) -> DeploymentInfo:
        progress(ProgressEvent("phase", Phase.LOADING, 1.5, 0.2, "Starting shard"))
        progress(ProgressEvent("ready", Phase.READY, 3.2, 0.0, "ready"))
        return INFO

    monkeypatch.setattr(deploy, "up", fake_up)
    result = CliRunner().invoke(app, ["up", "--gpus", "none", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [line["event"] for line in lines] == ["phase", "ready", "result"]
    assert lines[0]["phase"] == "loading" and lines[-1]["endpoint"] == "http://127.0.0.1:8080"


def test_invalid_settings_exit_2_before_any_docker_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy, "up", lambda *a, **k: pytest.fail("up must not be called"))
    result = CliRunner().invoke(app, ["up", "--max-input-tokens", "5000", "--max-total-tokens", "4096"])
    assert result.exit_code == 2


def test_down_variants(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []

    def fake_down(name: Any, **kwargs: Any) -> list[str]:
        calls.append((name, kwargs))
        return [] if name == "nothing" else ["a", "b"]

    monkeypatch.setattr(deploy, "down", fake_down)
    result = CliRunner().invoke(app, ["down", "--name", "nothing"])
    assert result.exit_code == 0 and "nothing to stop" in result.stdout
    result = CliRunner().invoke(app, ["down", "--all", "--grace", "30"])
    assert result.exit_code == 0 and "a: stopped and removed" in result.stdout
    assert calls[-1] == (None, {"all_deployments": True, "grace": 30.0})
    result = CliRunner().invoke(app, ["down"])
    assert calls[-1][0] == "tgi-mistral"  # the configured default name


def test_status_table_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    info = replace(INFO, started_at=datetime.now(UTC) - timedelta(seconds=125))
    row = DeploymentStatus(
        info, "ready", {"max_input_tokens": 3696, "max_total_tokens": 4096}, 2, 7, "3.3.6-dev0"
    )
    monkeypatch.setattr(deploy, "status", lambda name=None: [row])
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0
    header, line = result.stdout.strip().splitlines()
    assert header.split()[:4] == ["NAME", "MODEL", "IMAGE", "PHASE"]
    for cell in ("tgi-mistral", "ready", "http://127.0.0.1:8080", "2m05s", "3696/4096", "2/7"):
        assert cell in line
    result = CliRunner().invoke(app, ["ps", "--json"])
    [data] = json.loads(result.stdout)
    assert data["phase"] == "ready" and data["queue_size"] == 2 and data["running_batch"] == 7
    monkeypatch.setattr(deploy, "status", lambda name=None: [])
    assert "no deployments" in CliRunner().invoke(app, ["status"]).stdout


def test_logs_passes_follow_and_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_logs(name: str, **kwargs: Any) -> Any:
        seen.update(kwargs, name=name)
        return iter(["one", "two"])

    monkeypatch.setattr(deploy, "logs", fake_logs)
    result = CliRunner().invoke(app, ["logs", "--name", "x", "-f", "--tail", "5"])
    assert result.exit_code == 0 and result.stdout == "one\ntwo\n"
    assert seen["name"] == "x" and seen["follow"] is True and seen["tail"] == 5


def _orchestrator(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_orchestrator(*args, cwd=cwd, env=env, timeout=120)


@pytest.mark.parametrize("command", [["up", "--gpus", "none"], ["status"], ["down"], ["logs"]])
def test_no_engine_exits_3_with_how_to_start_it(command: list[str], tmp_path: Path) -> None:
    result = _orchestrator(*command, env={"DOCKER_HOST": "unix:///tmp/nothing.sock"}, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "no Docker Engine answers at unix:///tmp/nothing.sock" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.docker
@pytest.mark.slow
def test_real_cli_round_trip(emulator_image: str, docker_client: Any, tmp_path: Path) -> None:
    name = f"orch-cli-{uuid.uuid4().hex[:8]}"
    port = str(free_port())
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "ORCHESTRATOR_HOST__CACHE_DIR": str(tmp_path / "cache")}
    # --no-pull: these start the emulator image without a Hub (pull first: tests/lock/test_offline_up.py)
    common = ["--image", emulator_image, "--gpus", "none", "--port", port, "--name", name, "--no-pull"]
    try:
        result = _orchestrator("up", "--json", *common, env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        events = [json.loads(line) for line in result.stdout.splitlines()]
        assert events[-1]["event"] == "result" and events[-1]["endpoint"] == f"http://127.0.0.1:{port}"
        assert "ready" in {e["event"] for e in events}

        result = _orchestrator("status", "--json", "--name", name, env=env, cwd=tmp_path)
        [row] = json.loads(result.stdout)
        assert row["phase"] == "ready" and row["limits"]["max_total_tokens"] == 4096

        result = _orchestrator("logs", "--name", name, "--tail", "3", env=env, cwd=tmp_path)
        assert result.returncode == 0 and len(result.stdout.splitlines()) == 3

        result = _orchestrator("up", *common, env=env, cwd=tmp_path)
        assert result.returncode == 0 and "already running" in result.stdout

        result = _orchestrator("down", "--name", name, env=env, cwd=tmp_path)
        assert result.returncode == 0 and f"{name}: stopped and removed" in result.stdout
        result = _orchestrator("down", "--name", name, env=env, cwd=tmp_path)
        assert result.returncode == 0 and "nothing to stop" in result.stdout
    finally:
        for container in docker_client.containers.list(all=True, filters={"name": name}):
            container.remove(force=True)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "env_args", "code", "needle"),
    [
        ([], '["--emulator-warmup-oom"]', 4, "limits.max_batch_prefill_tokens to 2048"),
        ([], '["--emulator-crash-during-startup", "download"]', 4, "exited with code 1"),
        (["--gpus", "all"], "[]", 3, "NVIDIA Container Toolkit"),
        (["--image", "tgi-orchestrator/emulator-missing:3.3.7"], "[]", 4, "cannot pull image"),
    ],
    ids=["warmup-oom", "crash", "gpus", "missing-image"],
)
def test_real_cli_failures_exit_codes_and_leave_nothing(
    extra: list[str],
    env_args: str,
    code: int,
    needle: str,
    emulator_image: str,
    docker_client: Any,
    tmp_path: Path,
) -> None:
    name = f"orch-cli-{uuid.uuid4().hex[:8]}"
    env = {
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "ORCHESTRATOR_HOST__CACHE_DIR": str(tmp_path / "cache"),
        "ORCHESTRATOR_ENGINE__EXTRA_ARGS": env_args,
    }
    args = [
        "--image",
        emulator_image,
        "--gpus",
        "none",
        "--port",
        str(free_port()),
        "--name",
        name,
        "--no-pull",
        *extra,
    ]
    try:
        result = _orchestrator("up", "--json", *args, env=env, cwd=tmp_path)
        assert result.returncode == code, result.stdout + result.stderr
        error = json.loads(result.stdout.strip().splitlines()[-1])
        assert error["event"] == "error" and error["exit_code"] == code
        assert needle in json.dumps(error)
        assert docker_client.containers.list(all=True, filters={"name": name}) == []
    finally:
        for container in docker_client.containers.list(all=True, filters={"name": name}):
            container.remove(force=True)


@pytest.mark.parametrize(
    ("raised", "printed"),
    [
        (
            deploy.UpInterrupted("the pull of x was abandoned; no container was created"),
            "pull of x was abandoned",
        ),
        (deploy.UpInterrupted("the half-started container c was removed"), "container c was removed"),
        (KeyboardInterrupt(), "check `orchestrator status`"),  # no claim it cannot back
    ],
)
def test_up_interrupted_prints_what_up_actually_left(
    monkeypatch: pytest.MonkeyPatch, raised: BaseException, printed: str
) -> None:
    def interrupted_up(settings: Any, **kwargs: Any) -> DeploymentInfo:
        raise raised

    monkeypatch.setattr(deploy, "up", interrupted_up)
    result = CliRunner().invoke(app, ["up", "--gpus", "none"])
    assert result.exit_code == 130
    assert printed in result.stderr and "half-started container was removed" not in result.stderr
    result = CliRunner().invoke(app, ["up", "--gpus", "none", "--json"])
    event = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.exit_code == 130 and event["event"] == "interrupted" and printed in event["left"]


@pytest.mark.parametrize("args", [["down", "--grace", "-5"], ["logs", "--tail", "-3"], ["logs", "-n", "-1"]])
def test_negative_grace_and_tail_are_refused(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    for name in ("down", "logs"):
        monkeypatch.setattr(deploy, name, lambda *a, **k: pytest.fail("must not be called"))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    flat = "".join(ch for ch in result.stderr if ch.isalnum() or ch in "-")  # rich wraps the error box
    assert "Invalidvalue" in flat and "greaterthanorequalto0" in flat and args[1] in flat


def _up_process(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [ORCHESTRATOR, "up", "--json", *args],
        cwd=cwd,
        env={**clean_environ(), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(process: subprocess.Popen[str], wanted: Callable[[dict[str, Any]], bool]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if wanted(json.loads(line)):
            return
    pytest.fail(
        f"`up` ended before the awaited event: {process.wait()} {process.stderr.read() if process.stderr else ''}"
    )


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("keep_failed", [False, True], ids=["second-ctrl-c-during-clean-up", "keep-failed"])
def test_ctrl_c_during_up_reports_what_the_engine_really_holds(
    keep_failed: bool, emulator_image: str, docker_client: Any, tmp_path: Path
) -> None:
    """Ctrl-C while the emulator loads; without --keep-failed a second Ctrl-C lands as the clean-up removes the
    container. The words printed must match what `docker` then holds, with the `down` command if it holds one."""
    name = f"orch-cli-{uuid.uuid4().hex[:8]}"
    env = {
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "ORCHESTRATOR_HOST__CACHE_DIR": str(tmp_path / "cache"),
        "ORCHESTRATOR_ENGINE__EXTRA_ARGS": '["--emulator-load-seconds", "120"]',
    }
    args = [
        "--image",
        emulator_image,
        "--gpus",
        "none",
        "--port",
        str(free_port()),
        "--name",
        name,
        "--no-pull",
    ]
    process = _up_process([*args, *(["--keep-failed"] if keep_failed else [])], env, tmp_path)
    try:
        _read_until(process, lambda event: event.get("phase") == "loading")
        process.send_signal(signal.SIGINT)
        if not keep_failed:
            _read_until(
                process, lambda event: "removing the half-started container" in event.get("message", "")
            )
            process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 130, out + err
        event = json.loads(out.strip().splitlines()[-1])
        assert event["event"] == "interrupted"
        held = docker_client.containers.list(all=True, filters={"name": f"^/{name}$"})
        if held:
            assert event["leftover"] == name and event["remove"] == f"orchestrator down --name {name}"
            assert f"container {name} is left" in event["left"]
            assert f"Remove it with: orchestrator down --name {name}" in err
            removed = _orchestrator("down", "--name", name, env=env, cwd=tmp_path)
            assert removed.returncode == 0 and f"{name}: stopped and removed" in removed.stdout
        else:
            assert event["leftover"] is None and event["remove"] is None
            assert f"no container {name} is left" in event["left"] and "left in place" not in err
            assert "Remove it with" not in err
            assert not (tmp_path / "xdg" / "tgi-orchestrator" / "secrets" / name).exists()
        assert bool(held) is keep_failed  # kept only when asked; a cut-short removal is finished
    finally:
        if process.poll() is None:
            process.kill()
        for container in docker_client.containers.list(all=True, filters={"name": name}):
            container.remove(force=True)


@pytest.mark.docker
def test_logs_of_an_unknown_name_exits_2_with_the_status_hint(docker_client: Any, tmp_path: Path) -> None:
    name = f"orch-none-{uuid.uuid4().hex[:8]}"
    result = _orchestrator("logs", "--name", name, env={}, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"Error: no deployment named {name!r}" in result.stderr
    assert "Fix:   run `orchestrator status` to list deployments" in result.stderr
