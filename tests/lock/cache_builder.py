"""A Hugging Face hub cache written on disk exactly as huggingface_hub 2.x lays it out (blobs named by etag,
relative symlinks in `snapshots/<commit>/`, `refs/<branch>`, `trees/<commit>.json`), for tests that must not
need a Hub: the offline checks, the lock, the emulator reading a snapshot."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from orchestrator.tokens import MistralTokenizer

__all__ = ["COMMIT", "MODEL", "build_cache", "model_files"]

MODEL = "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"
COMMIT = "f970a2bb89d5c2f9d217dc337f39e24625d6462a"


def _tokenizer_model() -> bytes:
    import importlib.util

    spec = importlib.util.find_spec("mistral_common")
    assert spec is not None and spec.submodule_search_locations
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / "tokenizer.model.v1"
        if path.is_file():
            MistralTokenizer(path)  # the file loads as the tokenizer the emulator will use
            return path.read_bytes()
    raise AssertionError("mistral-common ships no tokenizer.model.v1")


def model_files(max_position_embeddings: int = 32768) -> dict[str, bytes]:
    config = {"architectures": ["MistralForCausalLM"], "max_position_embeddings": max_position_embeddings,
              "model_type": "mistral", "quantization_config": {"bits": 4, "group_size": 128, "quant_method": "awq",
                                                               "version": "gemm", "zero_point": True}}  # fmt: skip
    return {
        "config.json": json.dumps(config, indent=2).encode(),
        "generation_config.json": b'{"bos_token_id": 1, "eos_token_id": 2}',
        "model.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}      " + os.urandom(4096),
        "tokenizer.json": b'{"version": "1.0"}',
        "tokenizer.model": _tokenizer_model(),
        "tokenizer_config.json": b'{"add_bos_token": true}',
    }


_LFS = {"model.safetensors", "tokenizer.model"}


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def build_cache(
    hub: Path,
    files: dict[str, bytes] | None = None,
    *,
    commit: str = COMMIT,
    branch: str | None = "main",
    tree: bool = True,
    omit: tuple[str, ...] = (),
    model: str = MODEL,
) -> Path:
    """Write `files` of `model` at `commit` under `hub` (skipping `omit`, which the tree still lists); returns
    the snapshot folder."""
    files = model_files() if files is None else files
    repo = hub / ("models--" + model.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    listing = {}
    for name, data in files.items():
        sha256 = hashlib.sha256(data).hexdigest()
        etag = sha256 if name in _LFS else _git_sha1(data)
        entry: dict[str, object] = {"size": len(data), "blob_id": _git_sha1(data)}
        if name in _LFS:
            entry.update(lfs_sha256=sha256, lfs_size=len(data))
        listing[name] = entry
        if name in omit:
            continue
        (repo / "blobs" / etag).write_bytes(data)
        link = snapshot / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(Path("../../blobs") / etag)
    if branch:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / branch).write_text(commit)
    if tree:
        (repo / "trees").mkdir(exist_ok=True)
        (repo / "trees" / f"{commit}.json").write_text(json.dumps({"format_version": 1, "files": listing}))
    return snapshot
