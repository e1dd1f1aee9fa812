"""TGI's own start-up checks (reference §2, §3), made before anything is pulled instead of after a download.

Each rule reads settings by dotted path from a `RuleInput` and yields `EngineProblem`s; the configuration
layer adds where each value came from. Token limits, quantize/dtype, the version and its features, the flags
extra args must not repeat, and the stop grace against TGI's drain.
"""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.engines.base import EngineProblem, Rule, RuleInput
from orchestrator.engines.tgi.launcher_flags import (
    OWNED_FLAGS,
    SECRET_FLAGS,
    graceful_timeout_in,
    owned_flag_in,
)
from orchestrator.engines.tgi.versions import (
    DTYPE_COMPATIBLE_QUANTIZE,
    DTYPES,
    OLDEST_SUPPORTED,
    facts_for,
    format_version,
    parse_version,
)

__all__ = ["DRAIN_SECONDS", "RULES", "warnings"]

DRAIN_SECONDS = 90
"""TGI's default `--graceful-termination-timeout` [§2]."""
IMAGE_REPOSITORY = "ghcr.io/huggingface/text-generation-inference"
DEFAULT_VERSION = "3.3.7"


def _quantize_and_dtype(rin: RuleInput) -> Iterator[EngineProblem]:
    version, values = rin.version, rin.values
    quantize, dtype = values["model.quantize"] or None, values["model.dtype"] or None  # "" means unset
    if quantize is not None and version is not None and version >= OLDEST_SUPPORTED:
        allowed = facts_for(version).quantize_values
        if quantize not in allowed:
            yield EngineProblem(
                "model.quantize",
                f"TGI {format_version(version)} accepts --quantize {', '.join(allowed)}",
                f"set {rin.where('model.quantize')} to one of those (awq for this model), or target a newer TGI",
            )
    if dtype is not None and dtype not in DTYPES:
        yield EngineProblem("model.dtype", "TGI accepts --dtype float16 or bfloat16", "use one of those")
    if dtype is not None and quantize not in DTYPE_COMPATIBLE_QUANTIZE:
        why = "AWQ runs in float16 and " if quantize == "awq" else ""
        yield EngineProblem(
            "model.dtype",
            f"must stay unset with quantize={quantize!r}: {why}TGI's shard aborts when --dtype is combined "
            "with any quantization but bitsandbytes",
            f"unset model.dtype (remove it from flags, {rin.env_var('model.dtype')}, .env and "
            "orchestrator.toml)",
        )


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


def _out_of_range(rin: RuleInput) -> set[str]:
    """The limits below their minimum: the rules between limits skip them (their own rule says what is wrong)."""
    return {
        name
        for name, minimum in _MINIMUM.items()
        if rin.values[f"limits.{name}"] is not None and rin.values[f"limits.{name}"] < minimum
    }


def _limit_ranges(rin: RuleInput) -> Iterator[EngineProblem]:
    bad = _out_of_range(rin)
    for name, minimum in _MINIMUM.items():
        if name in bad:
            yield EngineProblem(f"limits.{name}", f"must be at least {minimum}", f"raise it to >= {minimum}")
    ratio = rin.values["limits.waiting_served_ratio"]
    if ratio is not None and not ratio > 0:
        yield EngineProblem(
            "limits.waiting_served_ratio", "must be > 0", "use a positive ratio (TGI's default is 0.3)"
        )


def _token_limits(rin: RuleInput) -> Iterator[EngineProblem]:
    """TGI's launcher and router start-up checks (reference §3)."""
    values, src = rin.values, rin.source_of
    max_input, max_total = values["limits.max_input_tokens"], values["limits.max_total_tokens"]
    prefill, total = values["limits.max_batch_prefill_tokens"], values["limits.max_batch_total_tokens"]
    bad = _out_of_range(rin)

    def sound(*names: str) -> bool:
        return not bad.intersection(names)

    if sound("max_input_tokens", "max_total_tokens") and max_input >= max_total:
        yield EngineProblem(
            "limits.max_input_tokens",
            f"must be < limits.max_total_tokens ({max_total}, from {src('limits.max_total_tokens')}): "
            "a request needs room for at least one generated token",
            f"lower max_input_tokens to at most {max_total - 1} or raise max_total_tokens above {max_input}",
        )
    if sound("max_batch_prefill_tokens", "max_input_tokens") and prefill < max_input:
        yield EngineProblem(
            "limits.max_batch_prefill_tokens",
            f"must be >= limits.max_input_tokens ({max_input}, from {src('limits.max_input_tokens')}): "
            "the longest prompt must fit in one prefill",
            f"raise max_batch_prefill_tokens to at least {max_input} or lower max_input_tokens",
        )
    if total is not None and sound("max_batch_total_tokens", "max_total_tokens") and max_total > total:
        yield EngineProblem(
            "limits.max_batch_total_tokens",
            f"must be >= limits.max_total_tokens ({max_total}, from {src('limits.max_total_tokens')}): "
            "one full request must fit in the batch",
            f"raise max_batch_total_tokens to at least {max_total}, or unset it (TGI infers it)",
        )
    if total is not None and sound("max_batch_total_tokens", "max_batch_prefill_tokens") and prefill > total:
        yield EngineProblem(
            "limits.max_batch_total_tokens",
            f"must be >= limits.max_batch_prefill_tokens ({prefill}, from "
            f"{src('limits.max_batch_prefill_tokens')}): TGI's router rejects a prefill budget above the batch's",
            f"raise max_batch_total_tokens to at least {prefill}, or unset it",
        )


def _is_tgi_repository(image: str) -> bool:
    """Whether `image` is TGI's own (its tag is then TGI's version); any other image's tag may be its own."""
    return image.split("@", 1)[0].rsplit(":", 1)[0] == IMAGE_REPOSITORY


def _version(rin: RuleInput) -> Iterator[EngineProblem]:
    image, pinned = rin.values["engine.image"], rin.values["engine.tgi_version"]
    if not image.strip() or any(c.isspace() for c in image):
        yield EngineProblem(
            "engine.image", "must be an image reference without spaces", "e.g. repository:3.3.7"
        )
        return
    if pinned is not None and parse_version(pinned) is None:
        yield EngineProblem(
            "engine.tgi_version", "is not a version", "use X.Y.Z, e.g. 3.3.7 (the TGI the image runs)"
        )
        return
    version = rin.version
    if version is None:
        yield EngineProblem(
            "engine.image",
            "its tag does not name a TGI release, so the launcher's flag names cannot be chosen",
            "pin the image to a release tag (ghcr.io/huggingface/text-generation-inference:3.3.7), or set "
            f"{rin.where('engine.tgi_version')} to the TGI version the image runs",
        )
    elif version < OLDEST_SUPPORTED and not pinned and not _is_tgi_repository(image):
        yield EngineProblem(
            "engine.image",
            f"its tag is read as TGI {format_version(version)}, older than {format_version(OLDEST_SUPPORTED)} "
            "(the oldest release this tool knows the flags of); the tag of a custom image need not be TGI's",
            "name the TGI version the image runs in engine.tgi_version (flag --tgi-version, env "
            f"{rin.env_var('engine.tgi_version')}), e.g. --tgi-version {DEFAULT_VERSION}",
        )
    elif version < OLDEST_SUPPORTED:
        yield EngineProblem(
            "engine.tgi_version" if pinned else "engine.image",
            f"TGI {format_version(version)} is older than {format_version(OLDEST_SUPPORTED)}, the oldest "
            "release this tool knows the flags of",
            "use TGI 1.1.0 or newer (3.3.7 is pinned by default)",
        )


def _version_features(rin: RuleInput) -> Iterator[EngineProblem]:
    version = rin.version
    if version is None:
        return
    facts = facts_for(version)
    if rin.values["secrets.api_key"] is not None and not facts.supports_api_key:
        yield EngineProblem(
            "secrets.api_key",
            f"TGI {format_version(version)} has no API key support (--api-key arrived in 2.3.0)",
            "use a TGI 2.3.0+ image, or unset the key and keep the API on 127.0.0.1",
        )
    if rin.values["limits.max_batch_size"] is not None and not facts.supports_max_batch_size:
        yield EngineProblem(
            "limits.max_batch_size",
            f"TGI {format_version(version)} has no --max-batch-size (it arrived in 1.4.1)",
            "unset it, or use a TGI 1.4.1+ image",
        )


def _extra_args(rin: RuleInput) -> Iterator[EngineProblem]:
    for arg in rin.values["engine.extra_args"]:
        if arg.split("=", 1)[0] in SECRET_FLAGS - {"--api-key"}:
            yield EngineProblem(
                "engine.extra_args",
                f"{arg.split('=', 1)[0]} takes a secret, which would show in `docker inspect` and process lists",
                "remove it (ngrok is not supported: TGI 3's router panics when it is enabled)",
            )
            continue
        flag = owned_flag_in(arg)
        if flag is None:
            continue
        setting = OWNED_FLAGS[flag]
        if setting in {"host.port", "host.bind_address"}:
            fix = (
                f"remove {flag}: TGI listens on 0.0.0.0:80 in the container; set {setting} for the host side"
            )
        elif setting.startswith("secrets."):
            fix = (
                f"remove {flag} (it would show in process lists and logs); set {rin.env_var(setting)} instead"
            )
        else:
            fix = f"remove {flag} and set {rin.where(setting)}"
        yield EngineProblem("engine.extra_args", f"{flag} is already set by the plan from {setting}", fix)


def _stop_grace(rin: RuleInput) -> Iterator[EngineProblem]:
    grace = rin.values["timeouts.stop_grace"]
    drain = graceful_timeout_in(rin.values["engine.extra_args"])
    if drain is not None and grace <= drain:
        yield EngineProblem(
            "timeouts.stop_grace",
            f"must be longer than the --graceful-termination-timeout ({drain:g} s) in engine.extra_args",
            f"raise it to at least {drain + 30:g}, or Docker SIGKILLs TGI in the middle of its drain",
        )
    elif drain is None and 0 < grace <= DRAIN_SECONDS:
        yield EngineProblem(
            "timeouts.stop_grace",
            f"must be longer than TGI's {DRAIN_SECONDS} s drain",
            f"use at least {DRAIN_SECONDS + 30} (default 120): on stop TGI finishes in-flight requests for "
            f"up to {DRAIN_SECONDS} s; a shorter grace lets Docker SIGKILL it mid-request",
        )


def warnings(rin: RuleInput) -> list[str]:
    """Legal but risky TGI choices, worth telling the user about."""
    found: list[str] = []
    version = rin.version
    if version is not None and not facts_for(version).forwards_sigterm:
        found.append(
            f"TGI {format_version(version)} runs bash as PID 1 without exec (fixed in 2.4.0): `docker stop` cannot "
            "reach the launcher, so in-flight requests are not drained and the container is killed after "
            f"timeouts.stop_grace ({rin.values['timeouts.stop_grace']:g} s). Prefer TGI 2.4.0 or newer."
        )
    dtype, quantize, model_id = (rin.values[k] for k in ("model.dtype", "model.quantize", "model.id"))
    if dtype and not quantize and "awq" in model_id.lower():
        found.append(
            f"model.dtype={dtype} with an AWQ-looking model and no quantize: TGI 2.0+ detects AWQ from the "
            "checkpoint and its shard aborts on --dtype (AWQ runs float16). Unset model.dtype."
        )
    if rin.values["host.gpus"].strip().lower() == "none":
        found.append(
            "no GPU is requested (host.gpus=none): real TGI needs an NVIDIA GPU for this model; only the "
            "emulator image runs without one."
        )
    return found


RULES: tuple[Rule, ...] = (
    _quantize_and_dtype,
    _limit_ranges,
    _token_limits,
    _version,
    _version_features,
    _extra_args,
    _stop_grace,
)
