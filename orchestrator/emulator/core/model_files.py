"""The model's files as an engine finds them at start-up: in the Hugging Face cache, or downloaded from the Hub.

Engine-neutral (TGI's personality wires it into its start-up in `emulator/tgi/startup.py`; a vLLM one can do the
same with its own log lines): `HubEnv.from_environ` reads what huggingface_hub reads (`HF_HOME`/`HF_HUB_CACHE`,
`HF_HUB_OFFLINE`, `HF_ENDPOINT`), `cached_files` looks a revision up in the cache like the engines do
(`refs/<revision>` -> `snapshots/<commit>`, never another revision), `download` fetches files one by one with
huggingface_hub itself, reporting each, and `load_model` reads `config.json` and finds the tokenizer.

When the emulator reads the cache at all (its default keeps today's start-up): with `HF_HUB_OFFLINE` set, always
(missing files fail the start like the engine); with `HF_ENDPOINT` set, it downloads what is missing; otherwise
only when the cache already holds the revision. With none of these it starts from its built-in model facts.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.formats.hf_cache import repo_dir, resolve_commit, snapshot

__all__ = ["HubEnv", "ModelFiles", "cached_files", "download", "hub_file_names", "load_model"]

_TRUE = {"1", "on", "yes", "true"}


@dataclass(frozen=True)
class HubEnv:
    """What huggingface_hub in the engine's image would use: the cache, offline mode, the endpoint."""

    hub: Path
    offline: bool
    endpoint: str | None
    """`HF_ENDPOINT` when set (only then does the emulator download: it has no business reaching the real Hub)."""
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> HubEnv:
        env = os.environ if environ is None else environ
        home = env.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
        hub = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE") or str(Path(home) / "hub")
        offline = any(
            env.get(name, "").lower() in _TRUE for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
        )
        endpoint = (env.get("HF_ENDPOINT") or "").rstrip("/") or None
        token = env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN") or None
        return cls(Path(hub), offline, endpoint, token)

    @property
    def reads_cache(self) -> bool:
        """Whether start-up must go through the cache even when it holds nothing yet."""
        return self.offline or self.endpoint is not None


def cached_files(env: HubEnv, model_id: str, revision: str | None) -> tuple[str, Path, frozenset[str]] | None:
    """(commit, snapshot folder, files present) of `revision` (default `main`) in the cache; None if absent."""
    repo = repo_dir(env.hub, model_id)
    commit = resolve_commit(repo, revision)
    found = snapshot(repo, commit) if commit else None
    if found is None:
        return None
    return found.commit, found.path, found.present


@dataclass(frozen=True)
class ModelFiles:
    """What the engine reads from the snapshot after its download step."""

    commit: str
    folder: Path
    config: dict[str, Any]
    """`config.json` (empty when the snapshot has none)."""
    tokenizer_model: Path | None
    """The SentencePiece `tokenizer.model`, when the snapshot has one."""
    present: frozenset[str]

    def config_int(self, key: str) -> int | None:
        value = self.config.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def load_model(env: HubEnv, model_id: str, revision: str | None) -> ModelFiles | None:
    """The snapshot's config and tokenizer; None when the cache does not hold the revision."""
    found = cached_files(env, model_id, revision)
    if found is None:
        return None
    commit, folder, present = found
    config: dict[str, Any] = {}
    if "config.json" in present:
        try:
            loaded = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError):
            loaded = {}
        config = loaded if isinstance(loaded, dict) else {}
    tokenizer = folder / "tokenizer.model" if "tokenizer.model" in present else None
    return ModelFiles(commit, folder, config, tokenizer, present)


def hub_file_names(env: HubEnv, model_id: str, revision: str | None) -> list[str]:
    """The repository's file names at `revision`, from the Hub (`model_info().siblings`, as TGI lists them)."""
    from huggingface_hub import HfApi

    info = HfApi(endpoint=env.endpoint, token=env.token or False).model_info(model_id, revision=revision)
    return sorted(s.rfilename for s in info.siblings or ())


def select(names: list[str], pattern: str, excluded: tuple[str, ...] = ()) -> list[str]:
    """Top-level `names` matching `pattern` with none of the `excluded` substrings (TGI filters `args`...)."""
    return [
        name
        for name in names
        if "/" not in name and fnmatch.fnmatch(name, pattern) and not any(word in name for word in excluded)
    ]


def download(
    env: HubEnv,
    model_id: str,
    revision: str | None,
    names: list[str],
    on_file: Callable[[str], None] = lambda name: None,
    on_done: Callable[[str, Path], None] = lambda name, path: None,
) -> list[Path]:
    """Fetch `names` one by one into the cache with huggingface_hub (a cached file costs no transfer); raises
    huggingface_hub's errors (`LocalEntryNotFoundError` when offline and missing)."""
    from huggingface_hub import hf_hub_download

    paths = []
    for name in names:
        on_file(name)
        path = Path(
            hf_hub_download(
                model_id,
                name,
                revision=revision,
                cache_dir=env.hub,
                endpoint=env.endpoint,
                token=env.token or False,
                local_files_only=env.offline,
            )
        )
        on_done(name, path)
        paths.append(path)
    return paths
