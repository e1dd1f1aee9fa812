"""`orchestrator doctor` and `orchestrator plan`: real processes on this GPU-less host (JSON shapes, exit codes),
CliRunner with recorded GPUs for what this host cannot show (a 4-GPU plan, `up --dry-run`'s shard count)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import orchestrator.deploy.doctor as doctor
import orchestrator.deploy.gpu_count as gpu_count
from orchestrator.cli.app import app
from orchestrator.gpu.values import GpuReport
from tests.fixtures.emulator import free_port
from tests.gpu.recorded import H100, T4, report
from tests.helpers import run_orchestrator as orchestrator
from tests.plan.helpers import isolated
from tests.plan.test_docker_command import option, shell_words

__all__ = ["isolated"]

NO_ENGINE = {"DOCKER_HOST": "unix:///tmp/no-docker-for-doctor.sock"}


def _checks(stdout: str) -> dict[str, dict[str, object]]:
    data = json.loads(stdout)
    assert set(data) == {"ok", "exit_code", "counts", "checks", "plan"}
    return {c["check"]: c for c in data["checks"]}


def test_doctor_on_this_gpu_less_host_fails_with_causes_and_fixes(isolated: Path) -> None:
    done = orchestrator("doctor", "--json", cwd=isolated, env=NO_ENGINE)
    assert done.returncode == 3, done.stderr
    checks = _checks(done.stdout)
    assert checks["docker"]["status"] == "fail" and "no-docker-for-doctor" in str(checks["docker"]["cause"])
    assert checks["gpu-driver"]["status"] in {"fail", "warn"}  # fail: no driver; warn: no nvidia-ml-py
    assert {"shm", "disk", "port", "cache-dir"} <= set(checks)
    for check in checks.values():
        assert check["status"] in {"ok", "warn", "fail"}
        if check["status"] == "fail":
            assert check["cause"] and check["fix"]


def test_doctor_text_output(isolated: Path) -> None:
    done = orchestrator("doctor", "--gpus", "none", "--port", str(free_port()), cwd=isolated, env=NO_ENGINE)
    assert done.returncode == 3
    assert "[FAIL] docker: no Docker Engine answers" in done.stdout and "  fix:" in done.stdout
    assert "[ok  ] gpu: host.gpus = 'none'" in done.stdout and "1 failed" in done.stdout


@pytest.mark.docker
def test_doctor_passes_without_gpus_on_the_real_engine(docker_client: object, isolated: Path) -> None:
    done = orchestrator("doctor", "--json", "--gpus", "none", "--port", str(free_port()), cwd=isolated)
    assert done.returncode == 0, done.stdout
    checks = _checks(done.stdout)
    assert all(c["status"] == "ok" for c in checks.values()), checks
    assert str(checks["docker"]["summary"]).startswith("Docker Engine ")


def test_plan_json_without_a_gpu(isolated: Path) -> None:
    done = orchestrator("plan", "--json", cwd=isolated, env=NO_ENGINE)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"nvml", "selected_gpus", "unknown_gpus", "num_shard", "model", "capacity", "notes"}
    assert data["nvml"]["available"] is False and data["capacity"] is None and data["num_shard"] == 1
    assert data["model"]["kv_bytes_per_token"] == 131_072 and data["model"]["weights_bytes"] == 4_150_000_000


def test_plan_with_four_recorded_gpus(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    four = report(H100, H100, H100, H100)
    monkeypatch.setattr(doctor, "_default_reader", lambda: four)
    result = CliRunner().invoke(app, ["plan"])
    assert result.exit_code == 0, result.output
    assert "--num-shard 4" in result.output and "GPU 3 NVIDIA H100 80GB HBM3" in result.output
    assert "layout: 4 replica(s) x 1 shard(s) recommended" in result.output
    data = json.loads(CliRunner().invoke(app, ["plan", "--json"]).output)
    assert data["capacity"]["layout"]["num_shard"] == 4 and len(data["capacity"]["replicas"]) == 4
    assert data["capacity"]["kv_tokens"] > 400_000


def test_doctor_with_a_recorded_t4_exits_3(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "_default_reader", lambda: report(T4))
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE["DOCKER_HOST"])
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 3
    checks = _checks(result.output)
    assert checks["compute-capability[0]"]["status"] == "fail"


def test_dry_run_takes_the_shard_count_from_nvml(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu_count, "_read_if_driver", lambda: report(H100, H100))
    result = CliRunner().invoke(app, ["up", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert option(shell_words(result.output), "--num-shard") == ["2"]
    assert "GPU count is unknown" not in result.output
    monkeypatch.setattr(gpu_count, "_read_if_driver", lambda: GpuReport(error="no NVIDIA driver"))
    unknown = CliRunner().invoke(app, ["up", "--dry-run"])
    assert (
        option(shell_words(unknown.output), "--num-shard") == ["1"]
        and "GPU count is unknown" in unknown.output
    )


def test_a_remote_engine_gets_no_local_count(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://gpu-host:2375")
    monkeypatch.setattr(gpu_count, "_read_if_driver", lambda: report(H100))
    assert CliRunner().invoke(app, ["up", "--dry-run"]).output.count("GPU count is unknown") == 1
