"""`orchestrator pull` as a real process against the Hub stand-in over HTTP: progress, resume, verification."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from orchestrator.emulator.hub import MISTRAL_AWQ, Fault, HubStandIn, RepoFile, mistral_awq_files
from tests.weights.pulling import downloads, parse, repo_dir, run_pull, snapshot, start_pull_until

BIG = 24_000_000


def _big_weights(hub: HubStandIn) -> RepoFile:
    big = RepoFile("model.safetensors", os.urandom(BIG), lfs=True)
    others = [f for f in mistral_awq_files() if f.path != "model.safetensors"]
    hub.repos[MISTRAL_AWQ].commit([*others, big], message="bigger weights")
    return big


def test_first_pull_reports_progress_then_verifies_every_file(
    hub_standin: HubStandIn, tmp_path: Path
) -> None:
    big = _big_weights(hub_standin)
    hub_standin.faults.add(Fault("rate", path="model.safetensors", bytes_per_second=20_000_000))
    got = run_pull(hub_standin, tmp_path)
    assert got.returncode == 0, got.stderr
    files = hub_standin.repos[MISTRAL_AWQ].files()
    plan = got.of("plan")[0]
    assert plan["download_bytes"] == sum(f.size for f in files.values()) == plan["total_bytes"]
    assert plan["commit"] == hub_standin.repos[MISTRAL_AWQ].refs["main"]
    growing = [e["bytes"] for e in got.of("file") if e["path"] == "model.safetensors"]
    assert len(growing) >= 2 and growing == sorted(growing) and growing[-1] == BIG, growing
    assert {e["path"] for e in got.of("file") if e["state"] == "done"} == set(files)
    totals = [e["bytes"] for e in got.of("progress")]
    assert totals == sorted(totals) and totals[-1] == plan["download_bytes"]
    assert any(e["rate"] for e in got.of("progress"))
    verified = {e["path"]: (e["state"], e["message"]) for e in got.of("verified")}
    assert verified == {p: ("ok", "sha256" if f.lfs else "git-sha1") for p, f in files.items()}
    result = got.last
    assert result["event"] == "result" and result["verified"] == len(files)
    assert (repo_dir(tmp_path) / "refs" / "main").read_text() == plan["commit"]
    assert (snapshot(hub_standin, tmp_path) / "model.safetensors").read_bytes() == big.content


def test_second_pull_fetches_nothing(hub_standin: HubStandIn, tmp_path: Path) -> None:
    assert run_pull(hub_standin, tmp_path).returncode == 0
    hub_standin.clear_requests()
    got = run_pull(hub_standin, tmp_path)
    assert got.returncode == 0, got.stderr
    assert downloads(hub_standin) == []
    assert not [r for r in hub_standin.requests() if r["method"] == "HEAD"]
    assert got.of("plan")[0]["download_bytes"] == 0
    assert {e["state"] for e in got.of("file")} == {"cached"}
    assert got.last["fetched"] == [] and got.last["verified"] == 10


def test_cut_connection_is_resumed(hub_standin: HubStandIn, tmp_path: Path) -> None:
    big = _big_weights(hub_standin)
    hub_standin.faults.add(Fault("cut", path="model.safetensors", at=15_000_000))
    got = run_pull(hub_standin, tmp_path)
    assert got.returncode == 0, got.stderr
    ranges = [r["range"] for r in downloads(hub_standin) if big.sha256 in r["path"]]
    assert ranges == [None, "bytes=10485760-"]  # huggingface_hub resumes from its last whole 10 MiB chunk
    assert got.of("retry"), "the resumed transfer is reported"
    assert "Traceback" not in got.stderr and "Trying to resume" not in got.stderr
    assert (snapshot(hub_standin, tmp_path) / "model.safetensors").read_bytes() == big.content


def test_stalled_transfer_times_out_and_resumes(hub_standin: HubStandIn, tmp_path: Path) -> None:
    big = _big_weights(hub_standin)
    hub_standin.faults.add(Fault("stall", path="model.safetensors", at=12_000_000, seconds=6))
    got = run_pull(hub_standin, tmp_path, HF_HUB_DOWNLOAD_TIMEOUT="1")
    assert got.returncode == 0, got.stderr
    assert [r["range"] for r in downloads(hub_standin) if big.sha256 in r["path"]] == [
        None,
        "bytes=10485760-",
    ]


def test_corrupted_file_is_named_and_removed(hub_standin: HubStandIn, tmp_path: Path) -> None:
    hub_standin.faults.add(Fault("corrupt", path="tokenizer.model", at=1000))
    got = run_pull(hub_standin, tmp_path)
    assert got.returncode == 8
    error = got.last
    assert error["event"] == "error" and error["kind"] == "VerificationError"
    assert "tokenizer.model" in error["error"] and "removed from the snapshot" in error["error"]
    assert [e["path"] for e in got.of("verified") if e["state"] == "mismatch"] == ["tokenizer.model"]
    snap = snapshot(hub_standin, tmp_path)
    assert not (snap / "tokenizer.model").exists() and (snap / "config.json").exists()
    assert not (repo_dir(tmp_path) / "refs" / "main").exists(), (
        "an unverified snapshot must not look complete"
    )
    again = run_pull(hub_standin, tmp_path)  # the fault wore off: the next pull fetches only that file
    assert again.returncode == 0, again.stderr
    assert again.last["fetched"] == ["tokenizer.model"]


def test_interrupted_pull_is_continued(hub_standin: HubStandIn, tmp_path: Path) -> None:
    big = _big_weights(hub_standin)
    hub_standin.faults.add(Fault("rate", path="model.safetensors", bytes_per_second=4_000_000))
    process, seen = start_pull_until(hub_standin, tmp_path, "model.safetensors", 1)
    at_signal = seen[-1]["bytes"]
    process.send_signal(signal.SIGINT)
    rest, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert parse(rest)[-1]["event"] == "interrupted"
    assert "Interrupted:" in stderr and "Traceback" not in stderr
    snap = snapshot(hub_standin, tmp_path)
    assert (snap / "config.json").exists() and not (snap / "model.safetensors").exists()
    assert not (repo_dir(tmp_path) / "refs" / "main").exists()
    partial = list((repo_dir(tmp_path) / "blobs").glob("*.incomplete"))
    assert partial == [], "huggingface_hub deletes its partial file when its download stops"
    hub_standin.faults.clear()
    hub_standin.clear_requests()
    got = run_pull(hub_standin, tmp_path)
    assert got.returncode == 0, got.stderr
    assert got.last["fetched"] == ["model.safetensors"]  # every other file was kept
    assert got.of("plan")[0]["download_bytes"] == BIG
    ranges = [r["range"] for r in downloads(hub_standin)]
    assert ranges == [None], f"the partial file ({at_signal} bytes at SIGINT) is fetched again from byte 0"
    assert (snap / "model.safetensors").read_bytes() == big.content


def test_dry_run_lists_exact_bytes_and_fetches_nothing(hub_standin: HubStandIn, tmp_path: Path) -> None:
    got = run_pull(hub_standin, tmp_path, "--dry-run")
    assert got.returncode == 0, got.stderr
    files = hub_standin.repos[MISTRAL_AWQ].files()
    plan = got.of("plan")[0]
    assert {f["path"]: f["size"] for f in plan["files"]} == {p: f.size for p, f in files.items()}
    assert plan["download_bytes"] == sum(f.size for f in files.values()) and plan["free_bytes"] > 0
    assert (downloads(hub_standin) == [] and not (tmp_path / "data" / "hub").exists()) or not snapshot(
        hub_standin, tmp_path
    ).exists()
    assert got.last["event"] == "result" and got.last["dry_run"] is True


def test_killed_pull_leaves_an_orphan_that_the_next_pull_clears(
    hub_standin: HubStandIn, tmp_path: Path
) -> None:
    """SIGKILL gives huggingface_hub no chance to delete its partial file; 2.4 never reuses it (a new attempt
    writes a new `<etag>.<8 hex>.incomplete` from byte 0), so the next pull removes it and starts the file over."""
    big = _big_weights(hub_standin)
    hub_standin.faults.add(Fault("rate", path="model.safetensors", bytes_per_second=4_000_000))
    process, _ = start_pull_until(hub_standin, tmp_path, "model.safetensors", 10_485_760)
    process.kill()
    process.wait(timeout=10)
    orphans = list((repo_dir(tmp_path) / "blobs").glob(f"{big.sha256}.*.incomplete"))
    assert len(orphans) == 1 and orphans[0].stat().st_size >= 10_485_760
    hub_standin.faults.clear()
    hub_standin.clear_requests()
    got = run_pull(hub_standin, tmp_path)
    assert got.returncode == 0, got.stderr
    assert [r["range"] for r in downloads(hub_standin)] == [None]
    assert not orphans[0].exists() and not list((repo_dir(tmp_path) / "blobs").glob("*.incomplete"))


def test_no_verify_checks_sizes_only(hub_standin: HubStandIn, tmp_path: Path) -> None:
    """The trade-off of `--no-verify`, shown: a wrong byte of the right length passes, a hash is never taken."""
    hub_standin.faults.add(Fault("corrupt", path="tokenizer.model", at=1000))
    got = run_pull(hub_standin, tmp_path, "--no-verify")
    assert got.returncode == 0, got.stderr
    assert {e["message"] for e in got.of("verified")} == {"size"}
    assert {e["state"] for e in got.of("verified")} == {"ok"}
    again = run_pull(hub_standin, tmp_path)  # verifying now finds the wrong byte in the cache
    assert again.returncode == 8 and "tokenizer.model" in again.last["error"]
