"""Every rule a deployment's settings must meet before anything starts: TGI's own start-up checks and ours.

`problems(settings)` returns all broken rules at once (each naming the setting, where its value came from,
the value, the rule and a fix); `check(settings)` raises one `ConfigError` holding them. `load_settings` calls
`check`, so every entry point gets validated settings. Rules are plain functions of the settings: no I/O.
TGI's checks are from `shared/reference/tgi-server.md` §3 (token limits) and §2 (flags per version).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import SecretStr

from orchestrator.errors import ConfigError, ConfigProblem
from orchestrator.gpus import parse_gpus
from orchestrator.launcher_flags import (
    OWNED_FLAGS,
    SECRET_FLAGS,
    graceful_timeout_in,
    mask_secret_args,
    owned_flag_in,
)
from orchestrator.settings import Settings, env_var_for
from orchestrator.versions import (
    DTYPE_COMPATIBLE_QUANTIZE,
    DTYPES,
    OLDEST_SUPPORTED,
    facts_for,
    format_version,
    parse_version,
)

__all__ = ["TGI_DRAIN_SECONDS", "check", "problems", "warnings"]

TGI_DRAIN_SECONDS = 90
"""TGI drains in-flight requests for up to 90 s on SIGTERM (reference §7 Shutdown)."""

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
_SHM = re.compile(r"^(\d+)([bkmg]?)$", re.IGNORECASE)
_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

"""Launcher flags carrying secrets that no setting covers (`--api-key` is owned by secrets.api_key)."""

Rule = Callable[[Settings], Iterator[ConfigProblem]]


def check(settings: Settings) -> None:
    """Raise `ConfigError` listing every broken rule; return quietly when the settings are sound."""
    found = problems(settings)
    if found:
        raise ConfigError(found)


def problems(settings: Settings) -> list[ConfigProblem]:
    """Every broken rule, in settings order."""
    return [problem for rule in _RULES for problem in rule(settings)]


def warnings(settings: Settings) -> list[str]:
    """Legal but risky choices, worth telling the user about (the plan adds its own, e.g. an unknown GPU count)."""
    found: list[str] = []
    host = settings.host
    if host.bind_address in {"0.0.0.0", "::"} and settings.secrets.api_key is None:
        found.append(
            f"the API is published on all interfaces ({host.bind_address}:{host.port}) without an API key: "
            "anyone who can reach this host can use it. Set secrets.api_key (ORCHESTRATOR_SECRETS__API_KEY) "
            "or bind to 127.0.0.1."
        )
    version = settings.engine.version
    if version is not None and not facts_for(version).forwards_sigterm:
        found.append(
            f"TGI {format_version(version)} runs bash as PID 1 without exec (fixed in 2.4.0): `docker stop` cannot "
            "reach the launcher, so in-flight requests are not drained and the container is killed after "
            f"timeouts.stop_grace ({settings.timeouts.stop_grace:g} s). Prefer TGI 2.4.0 or newer."
        )
    model = settings.model
    if model.dtype and not model.quantize and "awq" in model.id.lower():
        found.append(
            f"model.dtype={model.dtype} with an AWQ-looking model and no quantize: TGI 2.0+ detects AWQ from the "
            "checkpoint and its shard aborts on --dtype (AWQ runs float16). Unset model.dtype."
        )
    if host.gpus.strip().lower() == "none":
        found.append(
            "no GPU is requested (host.gpus=none): real TGI needs an NVIDIA GPU for this model; only the "
            "emulator image runs without one."
        )
    return found


def _show(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "'***'"
    if isinstance(value, list):
        return repr(mask_secret_args([str(v) for v in value]))
    if isinstance(value, Path):
        return repr(str(value))
    return repr(value)


def _problem(settings: Settings, path: str, rule: str, fix: str) -> ConfigProblem:
    return ConfigProblem(path, settings.source_of(path), _show(settings.value_at(path)), rule, fix)


def _where(path: str) -> str:
    return f"{path} (--set {path}=..., {env_var_for(path)}, .env or orchestrator.toml)"


# -- model ----------------------------------------------------------------------------------------------------


def _model_id(settings: Settings) -> Iterator[ConfigProblem]:
    model_id = settings.model.id
    if _HUB_ID.match(model_id) and ".." not in model_id:
        return
    if model_id.startswith("/") and PurePosixPath(model_id).is_absolute() and "\n" not in model_id:
        return
    yield _problem(
        settings,
        "model.id",
        "must be a Hub id `org/name` (letters, digits, `-`, `_`, `.`) or an absolute path inside the container",
        "e.g. TheBloke/Mistral-7B-Instruct-v0.2-AWQ, or /data/my-model for weights already under the cache "
        "directory (mounted at /data); ids without an org moved to one (gpt2 -> openai-community/gpt2)",
    )


def _revision(settings: Settings) -> Iterator[ConfigProblem]:
    revision = settings.model.revision
    if revision is not None and (not revision.strip() or any(c.isspace() for c in revision)):
        yield _problem(
            settings, "model.revision", "must be a branch, tag or commit without spaces", "e.g. main"
        )


def _quantize_and_dtype(settings: Settings) -> Iterator[ConfigProblem]:
    version = settings.engine.version
    quantize, dtype = settings.model.quantize or None, settings.model.dtype or None  # "" means unset
    if quantize is not None and version is not None and version >= OLDEST_SUPPORTED:
        allowed = facts_for(version).quantize_values
        if quantize not in allowed:
            yield _problem(
                settings,
                "model.quantize",
                f"TGI {format_version(version)} accepts --quantize {', '.join(allowed)}",
                f"set {_where('model.quantize')} to one of those (awq for this model), or target a newer TGI",
            )
    if dtype is not None and dtype not in DTYPES:
        yield _problem(settings, "model.dtype", "TGI accepts --dtype float16 or bfloat16", "use one of those")
    if dtype is not None and quantize not in DTYPE_COMPATIBLE_QUANTIZE:
        why = "AWQ runs in float16 and " if quantize == "awq" else ""
        yield _problem(
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


def _limit_ranges(settings: Settings) -> Iterator[ConfigProblem]:
    limits = settings.limits
    for name, minimum in _MINIMUM.items():
        value = getattr(limits, name)
        if value is not None and value < minimum:
            yield _problem(
                settings, f"limits.{name}", f"must be at least {minimum}", f"raise it to >= {minimum}"
            )
    if limits.waiting_served_ratio is not None and not limits.waiting_served_ratio > 0:
        yield _problem(
            settings,
            "limits.waiting_served_ratio",
            "must be > 0",
            "use a positive ratio (TGI's default is 0.3)",
        )


def _token_limits(settings: Settings) -> Iterator[ConfigProblem]:
    """TGI's launcher and router start-up checks (reference §3), made before download instead of after."""
    lim = settings.limits
    src = settings.source_of
    if lim.max_input_tokens >= lim.max_total_tokens:
        yield _problem(
            settings,
            "limits.max_input_tokens",
            f"must be < limits.max_total_tokens ({lim.max_total_tokens}, from {src('limits.max_total_tokens')}): "
            "a request needs room for at least one generated token",
            f"lower max_input_tokens to at most {lim.max_total_tokens - 1} or raise max_total_tokens "
            f"above {lim.max_input_tokens}",
        )
    if lim.max_batch_prefill_tokens < lim.max_input_tokens:
        yield _problem(
            settings,
            "limits.max_batch_prefill_tokens",
            f"must be >= limits.max_input_tokens ({lim.max_input_tokens}, from {src('limits.max_input_tokens')}): "
            "the longest prompt must fit in one prefill",
            f"raise max_batch_prefill_tokens to at least {lim.max_input_tokens} or lower max_input_tokens",
        )
    total = lim.max_batch_total_tokens
    if total is not None and lim.max_total_tokens > total:
        yield _problem(
            settings,
            "limits.max_batch_total_tokens",
            f"must be >= limits.max_total_tokens ({lim.max_total_tokens}, from {src('limits.max_total_tokens')}): "
            "one full request must fit in the batch",
            f"raise max_batch_total_tokens to at least {lim.max_total_tokens}, or unset it (TGI infers it)",
        )
    if total is not None and lim.max_batch_prefill_tokens > total:
        yield _problem(
            settings,
            "limits.max_batch_total_tokens",
            f"must be >= limits.max_batch_prefill_tokens ({lim.max_batch_prefill_tokens}, from "
            f"{src('limits.max_batch_prefill_tokens')}): TGI's router rejects a prefill budget above the batch's",
            f"raise max_batch_total_tokens to at least {lim.max_batch_prefill_tokens}, or unset it",
        )


# -- engine ---------------------------------------------------------------------------------------------------


def _version(settings: Settings) -> Iterator[ConfigProblem]:
    engine = settings.engine
    if not engine.image.strip() or any(c.isspace() for c in engine.image):
        yield _problem(
            settings, "engine.image", "must be an image reference without spaces", "e.g. repository:3.3.7"
        )
        return
    if engine.tgi_version is not None and parse_version(engine.tgi_version) is None:
        yield _problem(
            settings,
            "engine.tgi_version",
            "is not a version",
            "use X.Y.Z, e.g. 3.3.7 (the TGI the image runs)",
        )
        return
    version = engine.version
    if version is None:
        yield _problem(
            settings,
            "engine.image",
            "its tag does not name a TGI release, so the launcher's flag names cannot be chosen",
            "pin the image to a release tag (ghcr.io/huggingface/text-generation-inference:3.3.7), or set "
            f"{_where('engine.tgi_version')} to the TGI version the image runs",
        )
    elif version < OLDEST_SUPPORTED:
        path = "engine.tgi_version" if engine.tgi_version else "engine.image"
        yield _problem(
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
        yield _problem(
            settings,
            "secrets.api_key",
            f"TGI {format_version(version)} has no API key support (--api-key arrived in 2.3.0)",
            "use a TGI 2.3.0+ image, or unset the key and keep the API on 127.0.0.1",
        )
    if settings.limits.max_batch_size is not None and not facts.supports_max_batch_size:
        yield _problem(
            settings,
            "limits.max_batch_size",
            f"TGI {format_version(version)} has no --max-batch-size (it arrived in 1.4.1)",
            "unset it, or use a TGI 1.4.1+ image",
        )


def _extra_args(settings: Settings) -> Iterator[ConfigProblem]:
    for arg in settings.engine.extra_args:
        if arg.split("=", 1)[0] in SECRET_FLAGS - {"--api-key"}:
            yield _problem(
                settings,
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
                f"remove {flag} (it would show in process lists and logs); set {env_var_for(setting)} instead"
            )
        else:
            fix = f"remove {flag} and set {_where(setting)}"
        yield _problem(
            settings, "engine.extra_args", f"{flag} is already set by the plan from {setting}", fix
        )


# -- host -----------------------------------------------------------------------------------------------------


def _bind_and_port(settings: Settings) -> Iterator[ConfigProblem]:
    try:
        ipaddress.ip_address(settings.host.bind_address)
    except ValueError:
        yield _problem(
            settings,
            "host.bind_address",
            "must be an IP address of this host",
            "use 127.0.0.1 (this host only) or 0.0.0.0 (all interfaces; set an API key)",
        )
    if not 1 <= settings.host.port <= 65535:
        yield _problem(settings, "host.port", "must be in 1-65535", "pick a free port, e.g. 8080")


def _gpus(settings: Settings) -> Iterator[ConfigProblem]:
    try:
        selection = parse_gpus(settings.host.gpus)
    except ValueError as exc:
        yield _problem(
            settings,
            "host.gpus",
            f"must be all, none, GPU indices (0,1) or GPU UUIDs (GPU-<uuid>); {exc}",
            "e.g. all, 0, 0,1 or GPU-8f6c0a2e-1b2c-4d5e-8f90-123456789abc (see nvidia-smi -L)",
        )
        return
    shards = settings.host.num_shard
    if shards is None:
        return
    if shards < 1:
        yield _problem(settings, "host.num_shard", "must be at least 1", "use 1 per GPU, or unset it")
    elif selection.kind == "none" and shards > 1:
        yield _problem(
            settings, "host.num_shard", "cannot exceed 1 without GPUs (host.gpus=none)", "unset it or use 1"
        )
    elif selection.count is not None and shards > selection.count:
        yield _problem(
            settings,
            "host.num_shard",
            f"cannot exceed the {selection.count} GPU(s) listed in host.gpus ({settings.host.gpus})",
            "list more GPUs or lower num_shard (unset: one shard per listed GPU)",
        )


def _shm_and_name(settings: Settings) -> Iterator[ConfigProblem]:
    match = _SHM.match(settings.host.shm_size.strip())
    if not match or int(match[1]) == 0:
        yield _problem(
            settings,
            "host.shm_size",
            "must be a positive size: a number with an optional unit b, k, m or g",
            "e.g. 1g (what TGI's docs use for NCCL)",
        )
    if not _CONTAINER_NAME.match(settings.host.container_name):
        yield _problem(
            settings,
            "host.container_name",
            "must match Docker's [a-zA-Z0-9][a-zA-Z0-9_.-]+",
            "use letters, digits, '_', '.' and '-', starting with a letter or digit, e.g. tgi-mistral",
        )


# -- timeouts -------------------------------------------------------------------------------------------------


def _timeouts(settings: Settings) -> Iterator[ConfigProblem]:
    for name in type(settings.timeouts).model_fields:
        if not getattr(settings.timeouts, name) > 0:
            yield _problem(settings, f"timeouts.{name}", "must be a positive number of seconds", "e.g. 600")
    grace = settings.timeouts.stop_grace
    drain = graceful_timeout_in(settings.engine.extra_args)
    if drain is not None and grace <= drain:
        yield _problem(
            settings,
            "timeouts.stop_grace",
            f"must be longer than the --graceful-termination-timeout ({drain:g} s) in engine.extra_args",
            f"raise it to at least {drain + 30:g}, or Docker SIGKILLs TGI in the middle of its drain",
        )
    elif drain is None and 0 < grace <= TGI_DRAIN_SECONDS:
        yield _problem(
            settings,
            "timeouts.stop_grace",
            f"must be longer than TGI's {TGI_DRAIN_SECONDS} s drain",
            f"use at least {TGI_DRAIN_SECONDS + 30} (default 120): on stop TGI finishes in-flight requests for "
            f"up to {TGI_DRAIN_SECONDS} s; a shorter grace lets Docker SIGKILL it mid-request",
        )


# -- secrets --------------------------------------------------------------------------------------------------

_MIN_API_KEY = 8


def _api_key(settings: Settings) -> Iterator[ConfigProblem]:
    key = settings.secrets.api_key
    if key is None:
        return
    text = key.get_secret_value()
    if any(c.isspace() or not c.isprintable() for c in text):
        yield _problem(
            settings,
            "secrets.api_key",
            "must not contain spaces, line breaks or control characters (it travels in an HTTP header)",
            "generate one, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    elif len(text) < _MIN_API_KEY:
        yield _problem(
            settings,
            "secrets.api_key",
            f"must be at least {_MIN_API_KEY} characters (short keys are guessable and cannot be masked in logs)",
            "generate one, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )


_RULES: tuple[Rule, ...] = (
    _model_id,
    _revision,
    _quantize_and_dtype,
    _limit_ranges,
    _token_limits,
    _version,
    _version_features,
    _extra_args,
    _bind_and_port,
    _gpus,
    _shm_and_name,
    _timeouts,
    _api_key,
)
