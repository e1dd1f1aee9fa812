"""Every way a pull fails, explained: cause and fix, exit 8, nothing left looking complete, no token shown."""

from __future__ import annotations

import socket
from pathlib import Path

from orchestrator.emulator.hub import MISTRAL_AWQ, Fault, HubRepo, HubStandIn, RepoFile, mistral_awq_files
from tests.fixtures.hub import HUB_TOKEN
from tests.weights.pulling import Pulled, downloads, repo_dir, run_pull

TOKEN_VAR = "ORCHESTRATOR_SECRETS__HF_TOKEN"


def _error(got: Pulled, kind: str) -> dict[str, object]:
    assert got.returncode == 8, (got.stdout, got.stderr)
    error = got.last
    assert error["event"] == "error" and error["kind"] == kind, error
    assert error["cause"] and error["fix"], error
    assert "Traceback" not in got.stderr
    return error


def _no_token_anywhere(got: Pulled, token: str) -> None:
    assert token not in got.stdout and token not in got.stderr


def _gated(hub: HubStandIn) -> None:
    repo = HubRepo(MISTRAL_AWQ, gated="manual", granted={HUB_TOKEN})
    repo.commit(mistral_awq_files())
    hub.add(repo)


def test_gated_without_token_says_accept_the_licence(hub_standin: HubStandIn, tmp_path: Path) -> None:
    _gated(hub_standin)
    error = _error(run_pull(hub_standin, tmp_path), "GatedModelError")
    assert "no token was sent" in str(error["error"])
    assert "accept the licence" in str(error["fix"]) and TOKEN_VAR in str(error["fix"])
    assert not (repo_dir(tmp_path) / "refs" / "main").exists()


def test_gated_with_a_token_not_granted(hub_standin: HubStandIn, tmp_path: Path) -> None:
    _gated(hub_standin)
    hub_standin.tokens.add("hf_not_granted_123")
    got = run_pull(hub_standin, tmp_path, **{TOKEN_VAR: "hf_not_granted_123"})
    error = _error(got, "GatedModelError")
    assert "has not been granted access" in str(error["error"])
    _no_token_anywhere(got, "hf_not_granted_123")


def test_gated_with_a_granted_token_pulls_and_the_token_goes_only_to_the_hub(
    hub_standin: HubStandIn, tmp_path: Path
) -> None:
    _gated(hub_standin)
    got = run_pull(hub_standin, tmp_path, **{TOKEN_VAR: HUB_TOKEN})
    assert got.returncode == 0, got.stderr
    _no_token_anywhere(got, HUB_TOKEN)
    hub_side = {
        r["token"] for r in hub_standin.requests() if r["server"] == "hub" and "agent" not in r["path"]
    }
    cdn_side = {r["token"] for r in hub_standin.requests() if r["server"] == "cdn"}
    assert hub_side == {HUB_TOKEN} and cdn_side == {None}, "the CDN (another origin) never sees the token"


def test_bad_token(hub_standin: HubStandIn, tmp_path: Path) -> None:
    got = run_pull(hub_standin, tmp_path, **{TOKEN_VAR: "hf_revoked_456"})
    error = _error(got, "TokenRejectedError")
    assert "settings/tokens" in str(error["fix"])
    _no_token_anywhere(got, "hf_revoked_456")


def test_repository_not_found(hub_standin: HubStandIn, tmp_path: Path) -> None:
    error = _error(run_pull(hub_standin, tmp_path, "--model-id", "nobody/nothing"), "RemoteNotFoundError")
    assert "nobody/nothing" in str(error["error"]) and "model.id" in str(error["fix"])


def test_revision_not_found(hub_standin: HubStandIn, tmp_path: Path) -> None:
    error = _error(run_pull(hub_standin, tmp_path, "--revision", "v9.9"), "RemoteNotFoundError")
    assert "'v9.9'" in str(error["error"]) and "model.revision" in str(error["fix"])


def test_file_not_found_on_the_hub(hub_standin: HubStandIn, tmp_path: Path) -> None:
    hub_standin.faults.add(Fault("missing", path="tokenizer.json", times=None))
    error = _error(run_pull(hub_standin, tmp_path), "RemoteNotFoundError")
    assert "missing on the Hub" in str(error["error"])
    assert not (repo_dir(tmp_path) / "refs" / "main").exists()


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_hub_unreachable_with_an_empty_cache(hub_standin: HubStandIn, tmp_path: Path) -> None:
    error = _error(run_pull(hub_standin, tmp_path, HF_ENDPOINT=_closed_port()), "HubUnreachableError")
    assert "did not answer" in str(error["error"]) and "--offline" not in str(error["fix"])


def test_hub_unreachable_with_a_complete_cache_offers_offline_start(
    hub_standin: HubStandIn, tmp_path: Path
) -> None:
    assert run_pull(hub_standin, tmp_path).returncode == 0
    error = _error(run_pull(hub_standin, tmp_path, HF_ENDPOINT=_closed_port()), "HubUnreachableError")
    assert "complete snapshot" in str(error["fix"]) and "orchestrator up --offline" in str(error["fix"])


def test_hub_that_never_answers_the_listing(hub_standin: HubStandIn, tmp_path: Path) -> None:
    hub_standin.faults.add(Fault("slow", path="*/tree/*", seconds=30, times=None))
    got = run_pull(hub_standin, tmp_path, HF_HUB_ETAG_TIMEOUT="1", timeout=20)
    assert "did not answer (ListingTimeout)" in str(_error(got, "HubUnreachableError")["error"])


def test_disk_full_is_refused_before_any_download(hub_standin: HubStandIn, tmp_path: Path) -> None:
    huge = RepoFile("model.safetensors", b"x", lfs=True, declared_size=10**15, declared_sha256="0" * 64)
    others = [f for f in mistral_awq_files() if f.path != "model.safetensors"]
    hub_standin.repos[MISTRAL_AWQ].commit([*others, huge])
    error = _error(run_pull(hub_standin, tmp_path), "DiskFullError")
    assert f"{10**15 + sum(f.size for f in others):,} bytes to fetch" in str(error["error"])
    assert downloads(hub_standin) == []


def test_model_path_has_nothing_to_pull(hub_standin: HubStandIn, tmp_path: Path) -> None:
    got = run_pull(hub_standin, tmp_path, "--model-id", "/models/mistral")
    assert got.returncode == 2 and "nothing to pull" in got.stdout + got.stderr
