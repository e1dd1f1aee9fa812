"""The Hub stand-in against huggingface_hub 2.4 itself (a fresh process with `HF_ENDPOINT`, as users run it)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from orchestrator.emulator.hub import MISTRAL_AWQ, Fault, HubStandIn, RepoFile, mistral_awq_files
from orchestrator.tokens import model_file
from tests.fixtures.hub import HUB_TOKEN, hub_env, run_hf

SNAPSHOT = f"""
from huggingface_hub import snapshot_download
import os
path = snapshot_download({MISTRAL_AWQ!r})
result = {{"path": path, "files": sorted(os.listdir(path))}}
"""


def test_snapshot_download_gets_every_file_byte_exact(hub_standin: HubStandIn, tmp_path: Path) -> None:
    got = run_hf(SNAPSHOT, hub_env(hub_standin, tmp_path))
    files = hub_standin.repos[MISTRAL_AWQ].files()
    assert got["files"] == sorted(files)
    for name, file in files.items():
        data = (Path(got["path"]) / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == file.sha256, name
    assert (Path(got["path"]) / "tokenizer.model").read_bytes() == model_file().read_bytes()
    config = json.loads((Path(got["path"]) / "config.json").read_text())
    assert (
        config["max_position_embeddings"] == 32768 and config["quantization_config"]["quant_method"] == "awq"
    )
    blobs = tmp_path / "hub" / "models--TheBloke--Mistral-7B-Instruct-v0.2-AWQ" / "blobs"
    assert sorted(p.name for p in blobs.iterdir()) == sorted(f.etag for f in files.values())
    cdn = [r for r in hub_standin.requests() if r["server"] == "cdn"]
    assert {r["path"].rpartition("/")[2] for r in cdn} == {f.sha256 for f in files.values() if f.lfs}


def test_second_snapshot_download_asks_only_repo_info(hub_standin: HubStandIn, tmp_path: Path) -> None:
    env = hub_env(hub_standin, tmp_path)
    run_hf(SNAPSHOT, env)
    hub_standin.clear_requests()
    run_hf(SNAPSHOT, env)
    asked = [
        (r["method"], r["path"])
        for r in hub_standin.requests()
        if "/api/models/" in r["path"] or "resolve" in r["path"]
    ]
    assert asked == [("GET", f"/api/models/{MISTRAL_AWQ}/revision/main")]


def test_cut_transfer_resumes_with_range(hub_standin: HubStandIn, tmp_path: Path) -> None:
    big = RepoFile("model.safetensors", os.urandom(25_000_000), lfs=True)
    repo = hub_standin.repos[MISTRAL_AWQ]
    repo.commit([*(f for f in mistral_awq_files() if f.path != "model.safetensors"), big])
    hub_standin.faults.add(Fault("cut", path="model.safetensors", at=15_000_000))
    got = run_hf(SNAPSHOT, hub_env(hub_standin, tmp_path))
    assert (Path(got["path"]) / "model.safetensors").read_bytes() == big.content
    ranges = [r["range"] for r in hub_standin.requests() if r["server"] == "cdn" and big.sha256 in r["path"]]
    assert ranges == [None, "bytes=10485760-"]


def test_errors_map_to_huggingface_hub_exceptions(hub_standin: HubStandIn, tmp_path: Path) -> None:
    hub_standin.add(type(hub_standin.repos[MISTRAL_AWQ])("gated/model", gated="manual", granted={HUB_TOKEN}))
    hub_standin.repos["gated/model"].commit(mistral_awq_files()[:3])
    code = f"""
from huggingface_hub import hf_hub_download, HfApi
def kind(call):
    try:
        call()
    except Exception as exc:
        return type(exc).__name__ + ":" + str(getattr(getattr(exc, "response", None), "status_code", ""))
    return "ok"
result = {{
    "no_repo": kind(lambda: hf_hub_download("nobody/none", "config.json")),
    "no_revision": kind(lambda: hf_hub_download({MISTRAL_AWQ!r}, "config.json", revision="v9")),
    "no_file": kind(lambda: hf_hub_download({MISTRAL_AWQ!r}, "missing.bin")),
    "gated_anonymous": kind(lambda: hf_hub_download("gated/model", "config.json")),
    "gated_other_token": kind(lambda: hf_hub_download("gated/model", "config.json", token="hf_other")),
    "gated_granted": kind(lambda: hf_hub_download("gated/model", "config.json", token={HUB_TOKEN!r})),
    "bad_token": kind(lambda: HfApi().model_info({MISTRAL_AWQ!r}, token="hf_wrong")),
    "info_gated": HfApi().model_info("gated/model").gated,
    "siblings": sorted(s.rfilename for s in HfApi().model_info({MISTRAL_AWQ!r}).siblings),
}}
"""
    hub_standin.tokens.add("hf_other")
    got = run_hf(code, hub_env(hub_standin, tmp_path))
    assert got["no_repo"] == "RepositoryNotFoundError:401"
    assert got["no_revision"] == "RevisionNotFoundError:404"
    assert got["no_file"] == "RemoteEntryNotFoundError:404"
    assert got["gated_anonymous"] == "GatedRepoError:401"
    assert got["gated_other_token"] == "GatedRepoError:403"
    assert got["gated_granted"] == "ok"
    assert got["bad_token"] == "HfHubHTTPError:401"
    assert got["info_gated"] == "manual"
    assert got["siblings"] == sorted(f.path for f in mistral_awq_files())


def test_tree_pages_and_lfs_fields(tmp_path: Path) -> None:
    with HubStandIn(page_size=3) as hub:
        code = f"""
from huggingface_hub import HfApi
result = [(e.path, e.size, e.blob_id, e.lfs["sha256"] if e.lfs else None)
          for e in HfApi().list_repo_tree({MISTRAL_AWQ!r}, recursive=True)]
"""
        got = run_hf(code, hub_env(hub, tmp_path))
        files = hub.repos[MISTRAL_AWQ].files()
        assert [tuple(e) for e in got] == [
            (f.path, f.size, f.oid, f.sha256 if f.lfs else None)
            for f in sorted(files.values(), key=lambda f: f.path)
        ]
        assert sum("/tree/" in r["path"] for r in hub.requests()) == 4  # 10 files, 3 a page


def test_corrupt_byte_arrives_as_sent(hub_standin: HubStandIn, tmp_path: Path) -> None:
    hub_standin.faults.add(Fault("corrupt", path="tokenizer.model", at=1000))
    got = run_hf(SNAPSHOT, hub_env(hub_standin, tmp_path))
    data = (Path(got["path"]) / "tokenizer.model").read_bytes()
    original = model_file().read_bytes()
    assert len(data) == len(original) and data != original
    assert [i for i in range(len(data)) if data[i] != original[i]] == [1000]


def test_runs_as_a_process(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator.emulator.hub",
            "--port",
            "0",
            "--add-file",
            "extra/blob.bin=3000000",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("hub stand-in ready at http://127.0.0.1:"), line
        url = line.split()[4]
        fake = type("Hub", (), {"url": url})()
        code = f"""
import urllib.request, json
request = urllib.request.Request({url!r} + "/_standin/faults", method="POST",
    data=json.dumps({{"kind": "slow", "path": "*/revision/*", "seconds": 0.5}}).encode())
faults = json.load(urllib.request.urlopen(request))
import time
from huggingface_hub import snapshot_download
start = time.monotonic()
path = snapshot_download({MISTRAL_AWQ!r})
import os
result = {{"faults": faults, "took": time.monotonic() - start, "size": os.path.getsize(path + "/extra/blob.bin")}}
"""
        got = run_hf(code, hub_env(fake, tmp_path))  # type: ignore[arg-type]
        assert got["faults"][0]["kind"] == "slow" and got["took"] >= 0.5
        assert got["size"] == 3_000_000
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
