"""The emulator reads the Hugging Face cache like TGI: a real `python -m orchestrator.emulator` process, a real
cache on disk, and for the online case the Hub stand-in over real sockets."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.emulator.hub import HubStandIn
from tests.emulator.helpers import request
from tests.fixtures.emulator import EmulatorProcess
from tests.lock.cache_builder import MODEL, build_cache, model_files

Factory = Callable[..., EmulatorProcess]


def _env(home: Path, **extra: str) -> dict[str, str]:
    """Only the HF variables a test names; the user's own (HF_HOME, tokens, endpoint) never leak in."""
    env = {
        k: ""
        for k in os.environ
        if k.startswith("HF_") or k in {"HUGGING_FACE_HUB_TOKEN", "TRANSFORMERS_OFFLINE"}
    }
    env.update(HF_HOME=str(home), HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_IMPLICIT_TOKEN="1", **extra)
    return env


def _wait_exit(process: EmulatorProcess, timeout: float = 30) -> int:
    assert process.process is not None
    deadline = time.monotonic() + timeout
    while process.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    code = process.process.poll()
    assert code is not None, "the emulator did not exit:\n" + process.logs()
    return code


def test_offline_without_the_weights_fails_at_the_download_step_like_tgi(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    process = emulator_factory(
        "--model-id", MODEL, env=_env(tmp_path / "hf", HF_HUB_OFFLINE="1"), wait_ready=False
    )
    assert _wait_exit(process) == 1
    logs = process.logs()
    assert f"Starting check and download process for {MODEL}" in logs
    assert "Download encountered an error" in logs
    assert (
        f"huggingface_hub.errors.EntryNotFoundError: No .bin weights found for model {MODEL} and revision None."
        in logs
    )
    assert "Error: DownloadError" in logs
    assert "Starting shard" not in logs  # it failed at the download step, before any shard


def test_a_cached_snapshot_sets_the_limits_from_its_config_json(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    build_cache(tmp_path / "hf" / "hub", model_files(max_position_embeddings=2048))
    emulator = emulator_factory(
        "--model-id", MODEL, "--emulator-profile", "instant", env=_env(tmp_path / "hf", HF_HUB_OFFLINE="1")
    )
    info = request(emulator.url, "GET", "/info").json()
    # No --max-total-tokens: TGI v3's shard takes min(KV capacity, max_position_embeddings) from config.json.
    assert info["max_total_tokens"] == 2048 and info["max_input_tokens"] == 2047
    logs = emulator.logs()
    assert "Files are already present on the host. Skipping download." in logs
    assert "Download file:" not in logs
    # The snapshot's tokenizer serves /tokenize (the same SentencePiece model, so the same ids as TGI's).
    tokens = request(emulator.url, "POST", "/tokenize", {"inputs": "Hello world"}).json()
    assert [t["id"] for t in tokens][:1] == [1] and len(tokens) >= 3


def test_offline_without_the_tokenizer_the_shard_fails_with_transformers_message(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    build_cache(tmp_path / "hf" / "hub", omit=("tokenizer.json", "tokenizer.model"))
    process = emulator_factory(
        "--model-id", MODEL, env=_env(tmp_path / "hf", HF_HUB_OFFLINE="1"), wait_ready=False
    )
    assert _wait_exit(process) == 1
    logs = process.logs()
    assert "Files are already present on the host. Skipping download." in logs
    assert f"OSError: Can't load tokenizer for '{MODEL}'" in logs and "Shard 0 failed to start" in logs
    assert "Error: ShardCannotStart" in logs


def test_online_it_downloads_from_hf_endpoint_with_tgis_per_file_lines(
    emulator_factory: Factory, tmp_path: Path, hub_standin: HubStandIn
) -> None:
    home = tmp_path / "hf"
    emulator = emulator_factory(
        "--model-id", MODEL, "--emulator-profile", "instant", env=_env(home, HF_ENDPOINT=hub_standin.url)
    )
    logs = emulator.logs()
    assert "Download file: model.safetensors" in logs
    commit = hub_standin.repos[MODEL].resolve("main")
    snapshot_dirs = list((home / "hub" / f"models--{MODEL.replace('/', '--')}" / "snapshots").iterdir())
    assert [d.name for d in snapshot_dirs] == [commit]
    assert f"Downloaded {snapshot_dirs[0] / 'model.safetensors'} in 0:00:0" in logs
    assert "Download: [1/1] -- ETA: 0" in logs
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer.model",
        "tokenizer_config.json",
    ):
        assert (snapshot_dirs[0] / name).is_file(), name
    asked = [r["path"] for r in hub_standin.requests()]
    # TGI passes no --revision here, so huggingface_hub asks for the branch, as TGI's download does
    assert f"/{MODEL}/resolve/main/model.safetensors" in asked, asked
    # The defaults come from the downloaded config.json (32,768 positions: the instant profile's KV is smaller).
    info = request(emulator.url, "GET", "/info").json()
    assert info["max_total_tokens"] <= 32768


@pytest.mark.parametrize("flag", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_offline_flags_are_read_as_huggingface_hub_reads_them(
    emulator_factory: Factory, tmp_path: Path, flag: str
) -> None:
    process = emulator_factory(
        "--model-id", MODEL, env=_env(tmp_path / "hf", **{flag: "YES"}), wait_ready=False
    )
    assert _wait_exit(process) == 1 and "Error: DownloadError" in process.logs()
