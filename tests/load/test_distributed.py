"""Workers on other hosts: a real master and two real worker processes talking Locust's protocol over TCP on
loopback, against the emulator as a real process; and the options' errors."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from orchestrator.load.distributed import Distributed, DistributedError, worker_command
from orchestrator.load.locust_command import LOCUSTFILE, build_command
from orchestrator.load.report import read_samples
from orchestrator.load.request import LoadError, LoadRequest
from tests.fixtures.emulator import EmulatorProcess, free_port
from tests.helpers import ORCHESTRATOR, clean_environ

pytestmark = pytest.mark.slow


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [ORCHESTRATOR, "load", *args], cwd=cwd, env=clean_environ(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_a_master_with_two_workers_merges_every_sample(tmp_path: Path) -> None:
    port = free_port()
    report = tmp_path / "report"
    with EmulatorProcess(("--emulator-profile", "a100-awq")) as emu:
        master = _start(
            "--url", emu.url, "--master", "--expect-workers", "2", "--master-port", str(port),
            "--requests", "60", "--users", "4", "--scenario", "stream", "--input-tokens", "64",
            "--output-tokens", "8", "--report-dir", str(report), "--json", cwd=tmp_path,
        )  # fmt: skip
        workers = [
            _start("--worker", "--master-host", "127.0.0.1", "--master-port", str(port), cwd=tmp_path)
            for _ in range(2)
        ]
        try:
            out, err = master.communicate(timeout=120)
            worker_codes = [w.wait(timeout=30) for w in workers]
        finally:
            for proc in (master, *workers):
                if proc.poll() is None:
                    proc.kill()
        truth = _get(f"{emu.url}/emulator/summary")
    assert master.returncode == 0, err[-3000:]
    assert worker_codes == [0, 0]
    summary = json.loads(out)
    fig = summary["figures"]["all"]
    samples = read_samples(report / "samples.jsonl")
    # every request the emulator completed is one sample in the master's merged record, and both workers sent
    assert fig["requests"] == len(samples) == 60 == fig["succeeded"]
    assert truth["successful"] == 60
    assert {s.worker for s in samples} == {0, 1}
    assert summary["settings"]["workers_reporting"] == [0, 1]


def test_a_master_whose_workers_never_come_says_how_to_start_them(tmp_path: Path) -> None:
    with EmulatorProcess() as emu:
        master = _start(
            "--url", emu.url, "--master", "--expect-workers", "1", "--master-port", str(free_port()),
            "--worker-wait", "2", "--requests", "5", "--report-dir", str(tmp_path / "r"), cwd=tmp_path,
        )  # fmt: skip
        _, err = master.communicate(timeout=90)
    assert master.returncode == 2
    assert "gave up" in err and "orchestrator load --worker --master-host" in err and "--master-bind" in err


def test_master_command_listens_where_told_instead_of_forking_processes(tmp_path: Path) -> None:
    dist = Distributed("master", master_port=6001, expect_workers=3, bind="0.0.0.0", wait_s=30)
    req = LoadRequest(url="http://h:1", scenario="stream", users=4, duration_s=5, report_dir=tmp_path,
                      distributed=dist)  # fmt: skip
    cmd = build_command(req)
    for pair in (
        ["--expect-workers", "3"],
        ["--master-bind-host", "0.0.0.0"],
        ["--master-bind-port", "6001"],
    ):
        at = cmd.index(pair[0])
        assert cmd[at : at + 2] == pair
    assert "--master" in cmd and "--processes" not in cmd
    worker = worker_command(Distributed("worker", master_host="10.0.0.5", master_port=6001), LOCUSTFILE, 4)
    assert worker[worker.index("--master-host") + 1] == "10.0.0.5"
    assert worker[worker.index("--processes") + 1] == "4"
    assert "--host" not in worker  # the target comes from the master


@pytest.mark.parametrize(
    ("dist", "words"),
    [
        (Distributed("worker"), "--master-host"),
        (Distributed("worker", master_host="bad host!"), "not a host name"),
        (Distributed("master", expect_workers=0), "--processes instead"),
        (Distributed("master", master_port=70000), "--master-port 70000"),
        (Distributed("master", bind="x y"), "--master-bind"),
    ],
)
def test_bad_options_name_the_option_and_the_fix(dist: Distributed, words: str) -> None:
    with pytest.raises(DistributedError, match=words):
        dist.check()


def test_processes_on_a_master_are_refused(tmp_path: Path) -> None:
    req = LoadRequest(url="http://h:1", scenario="stream", users=4, duration_s=5, report_dir=tmp_path,
                      processes=2, distributed=Distributed("master"))  # fmt: skip
    with pytest.raises(LoadError, match="--processes 2 with --master"):
        req.checked_options()


def test_cli_worker_refuses_a_target_of_its_own(tmp_path: Path) -> None:
    done = subprocess.run(
        [ORCHESTRATOR, "load", "--worker", "--master-host", "127.0.0.1", "--url", "http://x:1"],
        cwd=tmp_path, env=clean_environ(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "drop --master, --url" in done.stderr
