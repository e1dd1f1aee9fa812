"""Rules on the model, the token limits and the TGI version: TGI's own start-up checks (reference §2, §3)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from orchestrator.errors import ConfigProblem
from orchestrator.settings import DEFAULT_IMAGE, DEFAULT_TGI_VERSION, Settings, env_var_for
from orchestrator.validation.common import problem, where
from orchestrator.versions import (
    DTYPE_COMPATIBLE_QUANTIZE,
    DTYPES,
    OLDEST_SUPPORTED,
    facts_for,
    format_version,
    parse_version,
)

__all__ = ["MODEL_RULES"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


# -- model ----------------------------------------------------------------------------------------------------


def _model_id(settings: Settings) -> Iterator[ConfigProblem]:
    model_id = settings.model.id
    if _HUB_ID.match(model_id) and ".." not in model_id:
        return
    if model_id.startswith("/") and PurePosixPath(model_id).is_absolute() and "\n" not in model_id:
        return
    yield problem(
        settings,
        "model.id",
        "must be a Hub id `org/name` (letters, digits, `-`, `_`, `.`) or an absolute path inside the container",
        "e.g. TheBloke/Mistral-7B-Instruct-v0.2-AWQ, or /data/my-model for weights already under the cache "
        "directory (mounted at /data); ids without an org moved to one (gpt2 -> openai-community/gpt2)",
    )


def _revision(settings: Settings) -> Iterator[ConfigProblem]:
    revision = settings.model.revision
    if revision is not None and (not revision.strip() or any(c.isspace() for c in revision)):
        yield problem(
            settings, "model.revision", "must be a branch, tag or commit without spaces", "e.g. main"
        )


def _quantize_and_dtype(settings: Settings) -> Iterator[ConfigProblem]:
    version = settings.engine.version
    quantize, dtype = settings.model.quantize or None, settings.model.dtype or None  # "" means unset
    if quantize is not None and version is not None and version >= OLDEST_SUPPORTED:
        allowed = facts_for(version).quantize_values
        if quantize not in allowed:
            yield problem(
                settings,
                "model.quantize",
                f"TGI {format_version(version)} accepts --quantize {', '.join(allowed)}",
                f"set {where('model.quantize')} to one of those (awq for this model), or target a newer TGI",
            )
    if dtype is not None and dtype not in DTYPES:
        yield problem(settings, "model.dtype", "TGI accepts --dtype float16 or bfloat16", "use one of those")
    if dtype is not None and quantize not in DTYPE_COMPATIBLE_QUANTIZE:
        why = "AWQ runs in float16 and " if quantize == "awq" else ""
        yield problem(
            settings,
            "model.dtype",
            f"must stay unset with quantize={quantize!r}: {why}TGI's shard aborts when --dtype is combined "
            "with any quantization but bitsandbytes",
            f"unset model.dtype (remove it from flags, {env_var_for('model.dtype')}, .env and orchestrator.toml)",
        )


# -- token limits ---------------------------------------------------------------------------------------------

_MINIMUM: dict[str, int] = {
    "max_input_tokens": 1,
    "max_total_tokens": 2,
    "max_batch_prefill_tokens": 1,
    "max_batch_total_tokens": 1,
    "max_concurrent_requests": 1,
    "max_best_of": 1,
    "max_stop_sequences": 0,
    "max_top_n_tokens": 0,
    "max_waiting_tokens": 0,
    "max_batch_size": 1,
}


def _out_of_range(settings: Settings) -> set[str]:
    """The limits below their minimum: the rules between limits skip them (their own rule says what is wrong)."""
    limits = settings.limits
    return {
        name
        for name, minimum in _MINIMUM.items()
        if getattr(limits, name) is not None and getattr(limits, name) < minimum
    }


def _limit_ranges(settings: Settings) -> Iterator[ConfigProblem]:
    bad = _out_of_range(settings)
    for name, minimum in _MINIMUM.items():
        if name in bad:
            yield problem(
                settings, f"limits.{name}", f"must be at least {minimum}", f"raise it to >= {minimum}"
            )
    ratio = settings.limits.waiting_served_ratio
    if ratio is not None and not ratio > 0:
        yield problem(
            settings,
            "limits.waiting_served_ratio",
            "must be > 0",
            "use a positive ratio (TGI's default is 0.3)",
        )


def _token_limits(settings: Settings) -> Iterator[ConfigProblem]:
    """TGI's launcher and router start-up checks (reference §3), made before download instead of after."""
    lim = settings.limits
    src = settings.source_of
    bad = _out_of_range(settings)

    def sound(*names: str) -> bool:
        return not bad.intersection(names)

    if sound("max_input_tokens", "max_total_tokens") and lim.max_input_tokens >= lim.max_total_tokens:
        yield problem(
            settings,
            "limits.max_input_tokens",
            f"must be < limits.max_total_tokens ({lim.max_total_tokens}, from {src('limits.max_total_tokens')}): "
            "a request needs room for at least one generated token",
            f"lower max_input_tokens to at most {lim.max_total_tokens - 1} or raise max_total_tokens "
            f"above {lim.max_input_tokens}",
        )
    if (
        sound("max_batch_prefill_tokens", "max_input_tokens")
        and lim.max_batch_prefill_tokens < lim.max_input_tokens
    ):
        yield problem(
            settings,
            "limits.max_batch_prefill_tokens",
            f"must be >= limits.max_input_tokens ({lim.max_input_tokens}, from {src('limits.max_input_tokens')}): "
            "the longest prompt must fit in one prefill",
            f"raise max_batch_prefill_tokens to at least {lim.max_input_tokens} or lower max_input_tokens",
        )
    total = lim.max_batch_total_tokens
    if (
        total is not None
        and sound("max_batch_total_tokens", "max_total_tokens")
        and lim.max_total_tokens > total
    ):
        yield problem(
            settings,
            "limits.max_batch_total_tokens",
            f"must be >= limits.max_total_tokens ({lim.max_total_tokens}, from {src('limits.max_total_tokens')}): "
            "one full request must fit in the batch",
            f"raise max_batch_total_tokens to at least {lim.max_total_tokens}, or unset it (TGI infers it)",
        )
    if (
        total is not None
        and sound("max_batch_total_tokens", "max_batch_prefill_tokens")
        and lim.max_batch_prefill_tokens > total
    ):
        yield problem(
            settings,
            "limits.max_batch_total_tokens",
            f"must be >= limits.max_batch_prefill_tokens ({lim.max_batch_prefill_tokens}, from "
            f"{src('limits.max_batch_prefill_tokens')}): TGI's router rejects a prefill budget above the batch's",
            f"raise max_batch_total_tokens to at least {lim.max_batch_prefill_tokens}, or unset it",
        )


# -- engine ---------------------------------------------------------------------------------------------------


_TGI_REPOSITORY = DEFAULT_IMAGE.rsplit(":", 1)[0]


def _is_tgi_repository(image: str) -> bool:
    """Whether `image` is TGI's own (its tag is then TGI's version); any other image's tag may be its own."""
    return image.split("@", 1)[0].rsplit(":", 1)[0] == _TGI_REPOSITORY


def _version(settings: Settings) -> Iterator[ConfigProblem]:
    engine = settings.engine
    if not engine.image.strip() or any(c.isspace() for c in engine.image):
        yield problem(
            settings, "engine.image", "must be an image reference without spaces", "e.g. repository:3.3.7"
        )
        return
    if engine.tgi_version is not None and parse_version(engine.tgi_version) is None:
        yield problem(
            settings,
            "engine.tgi_version",
            "is not a version",
            "use X.Y.Z, e.g. 3.3.7 (the TGI the image runs)",
        )
        return
    version = engine.version
    if version is None:
        yield problem(
            settings,
            "engine.image",
            "its tag does not name a TGI release, so the launcher's flag names cannot be chosen",
            "pin the image to a release tag (ghcr.io/huggingface/text-generation-inference:3.3.7), or set "
            f"{where('engine.tgi_version')} to the TGI version the image runs",
        )
    elif version < OLDEST_SUPPORTED and not engine.tgi_version and not _is_tgi_repository(engine.image):
        yield problem(
            settings,
            "engine.image",
            f"its tag is read as TGI {format_version(version)}, older than {format_version(OLDEST_SUPPORTED)} "
            "(the oldest release this tool knows the flags of); the tag of a custom image need not be TGI's",
            "name the TGI version the image runs in engine.tgi_version (flag --tgi-version, env "
            f"{env_var_for('engine.tgi_version')}), e.g. --tgi-version {DEFAULT_TGI_VERSION}",
        )
    elif version < OLDEST_SUPPORTED:
        path = "engine.tgi_version" if engine.tgi_version else "engine.image"
        yield problem(
            settings,
            path,
            f"TGI {format_version(version)} is older than {format_version(OLDEST_SUPPORTED)}, the oldest "
            "release this tool knows the flags of",
            "use TGI 1.1.0 or newer (3.3.7 is pinned by default)",
        )


def _version_features(settings: Settings) -> Iterator[ConfigProblem]:
    version = settings.engine.version
    if version is None:
        return
    facts = facts_for(version)
    if settings.secrets.api_key is not None and not facts.supports_api_key:
        yield problem(
            settings,
            "secrets.api_key",
            f"TGI {format_version(version)} has no API key support (--api-key arrived in 2.3.0)",
            "use a TGI 2.3.0+ image, or unset the key and keep the API on 127.0.0.1",
        )
    if settings.limits.max_batch_size is not None and not facts.supports_max_batch_size:
        yield problem(
            settings,
            "limits.max_batch_size",
            f"TGI {format_version(version)} has no --max-batch-size (it arrived in 1.4.1)",
            "unset it, or use a TGI 1.4.1+ image",
        )


MODEL_RULES = (
    _model_id,
    _revision,
    _quantize_and_dtype,
    _limit_ranges,
    _token_limits,
    _version,
    _version_features,
)
