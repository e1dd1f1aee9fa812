"""TGI 3.3's download step (`text-generation-server download-weights`) and shard file checks, over the real cache.

What TGI does [hub-protocol §13; TGI `server/text_generation_server/{cli.py, utils/hub.py}`]: if every top-level
`*.safetensors` of the revision is in the cached snapshot, it logs "Files are already present on the host.
Skipping download."; otherwise it lists the repository (`model_info().siblings`), fetches `config.json`, then each
weights file with `hf_hub_download`, logging `Download file: NAME`, `Downloaded PATH in H:MM:SS.` and
`Download: [i/n] -- ETA: ...`. Offline with no weights, its `.safetensors` lookup and then its `.bin` fallback find
nothing and the step dies with `EntryNotFoundError: No .bin weights found for model M and revision R.` (from the
code path; TGI prints the Python traceback, the launcher wraps it in "Download encountered an error").
The shard then loads `config.json` and the tokenizer with transformers; offline without them it fails with
transformers' messages.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from orchestrator.emulator.core.model_files import (
    HubEnv,
    ModelFiles,
    cached_files,
    download,
    hub_file_names,
    load_model,
    select,
)
from orchestrator.emulator.tgi.logs import TgiLogger

__all__ = ["DownloadFailed", "download_step", "shard_file_error"]

_HUB_EXCLUDED = ("arguments", "args", "training")
_CACHE_EXCLUDED = ("arguments", "args", "adapter", "training")
_TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json", "tokenizer.model", "special_tokens_map.json")


class DownloadFailed(Exception):
    """The download step died; `detail` is the last line of its Python traceback."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _weights_cached(env: HubEnv, model_id: str, revision: str | None) -> bool:
    found = cached_files(env, model_id, revision)
    return found is not None and bool(select(sorted(found[2]), "*.safetensors", _CACHE_EXCLUDED))


def _exception_line(exc: BaseException) -> str:
    kind = type(exc)
    module = "huggingface_hub.errors" if kind.__module__.startswith("huggingface_hub") else kind.__module__
    return f"{module}.{kind.__name__}: {exc}"


def _fetch(env: HubEnv, model_id: str, revision: str | None, log: TgiLogger) -> None:
    """The online download, in TGI's order and with its per-file lines (runs in a worker thread)."""
    names = hub_file_names(env, model_id, revision)
    weights = select(names, "*.safetensors", _HUB_EXCLUDED)
    if not weights:
        raise DownloadFailed(
            f"huggingface_hub.errors.EntryNotFoundError: No .bin weights found for model {model_id} "
            f"and revision {revision}."
        )
    if "config.json" in names:
        download(env, model_id, revision, ["config.json"])
    started = time.monotonic()
    for index, name in enumerate(weights, start=1):
        began = time.monotonic()
        log.download(f"Download file: {name}")
        (path,) = download(env, model_id, revision, [name])
        log.download(f"Downloaded {path} in {timedelta(seconds=int(time.monotonic() - began))}.")
        elapsed = timedelta(seconds=int(time.monotonic() - started))
        remaining = len(weights) - index
        eta = (elapsed / index) * remaining if remaining > 0 else 0
        log.download(f"Download: [{index}/{len(weights)}] -- ETA: {eta}")
    # The shard's tokenizer load (transformers) fetches these itself, without log lines.
    download(env, model_id, revision, [name for name in _TOKENIZER_FILES if name in names])


async def download_step(
    model_id: str, revision: str | None, log: TgiLogger, env: HubEnv
) -> ModelFiles | None:
    """TGI's download step against `env`'s cache; None when the emulator keeps its built-in model (nothing
    cached and neither offline nor an endpoint asked for the cache). Raises `DownloadFailed`."""
    if _weights_cached(env, model_id, revision):
        log.download("Files are already present on the host. Skipping download.")
        return load_model(env, model_id, revision)
    if not env.reads_cache:
        return None
    if env.offline:
        raise DownloadFailed(
            f"huggingface_hub.errors.EntryNotFoundError: No .bin weights found for model {model_id} "
            f"and revision {revision}."
        )
    try:
        await asyncio.to_thread(_fetch, env, model_id, revision, log)
    except DownloadFailed:
        raise
    except Exception as exc:  # huggingface_hub's errors, network errors: TGI's traceback ends with them
        raise DownloadFailed(_exception_line(exc)) from exc
    return load_model(env, model_id, revision)


def shard_file_error(files: ModelFiles, model_id: str) -> str | None:
    """The error the shard dies with when the snapshot lacks the config or the tokenizer (offline), else None."""
    if "config.json" not in files.present:
        return (
            f"OSError: We couldn't connect to 'https://huggingface.co' to load this file, couldn't find it in the "
            f"cached files and it looks like {model_id} is not the path to a directory containing a file named "
            "config.json.\nCheckout your internet connection or see how to run the library in offline mode at "
            "'https://huggingface.co/docs/transformers/installation#offline-mode'."
        )
    if not {"tokenizer.json", "tokenizer.model"} & files.present:
        return (
            f"OSError: Can't load tokenizer for '{model_id}'. If you were trying to load it from "
            "'https://huggingface.co/models', make sure you don't have a local directory with the same name. "
            f"Otherwise, make sure '{model_id}' is the correct path to a directory containing all relevant files "
            "for a LlamaTokenizerFast tokenizer."
        )
    return None


def tokenizer_path(files: ModelFiles | None) -> Path | None:
    return files.tokenizer_model if files is not None else None
