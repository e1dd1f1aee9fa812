"""Rules on the host side (address, port, GPUs, shm, name), timeouts and secrets, for every engine."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from orchestrator.config.settings import Settings
from orchestrator.config.validation.common import problem
from orchestrator.errors import ConfigProblem

__all__ = ["HOST_RULES"]

_SHM = re.compile(r"^(\d+)([bkmg]?)$", re.IGNORECASE)
_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


# -- host -----------------------------------------------------------------------------------------------------


def _bind_and_port(settings: Settings) -> Iterator[ConfigProblem]:
    try:
        ipaddress.ip_address(settings.host.bind_address)
    except ValueError:
        yield problem(
            settings,
            "host.bind_address",
            "must be an IP address of this host",
            "use 127.0.0.1 (this host only) or 0.0.0.0 (all interfaces; set an API key)",
        )
    if not 1 <= settings.host.port <= 65535:
        yield problem(settings, "host.port", "must be in 1-65535", "pick a free port, e.g. 8080")


def _gpus(settings: Settings) -> Iterator[ConfigProblem]:
    try:
        selection = settings.host.gpu_selection
    except ValueError as exc:
        yield problem(
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
        yield problem(settings, "host.num_shard", "must be at least 1", "use 1 per GPU, or unset it")
    elif selection.kind == "none" and shards > 1:
        yield problem(
            settings, "host.num_shard", "cannot exceed 1 without GPUs (host.gpus=none)", "unset it or use 1"
        )
    elif selection.count is not None and shards > selection.count:
        yield problem(
            settings,
            "host.num_shard",
            f"cannot exceed the {selection.count} GPU(s) listed in host.gpus ({settings.host.gpus})",
            "list more GPUs or lower num_shard (unset: one shard per listed GPU)",
        )


def _shm_and_name(settings: Settings) -> Iterator[ConfigProblem]:
    match = _SHM.match(settings.host.shm_size.strip())
    if not match or int(match[1]) == 0:
        yield problem(
            settings,
            "host.shm_size",
            "must be a positive size: a number with an optional unit b, k, m or g",
            "e.g. 1g (what TGI's docs use for NCCL)",
        )
    if not _CONTAINER_NAME.match(settings.host.container_name):
        yield problem(
            settings,
            "host.container_name",
            "must match Docker's [a-zA-Z0-9][a-zA-Z0-9_.-]+",
            "use letters, digits, '_', '.' and '-', starting with a letter or digit, e.g. tgi-mistral",
        )


# -- timeouts -------------------------------------------------------------------------------------------------


def _timeouts(settings: Settings) -> Iterator[ConfigProblem]:
    for name in type(settings.timeouts).model_fields:
        if not getattr(settings.timeouts, name) > 0:
            yield problem(settings, f"timeouts.{name}", "must be a positive number of seconds", "e.g. 600")


# -- secrets --------------------------------------------------------------------------------------------------

_MIN_API_KEY = 8


def _api_key(settings: Settings) -> Iterator[ConfigProblem]:
    key = settings.secrets.api_key
    if key is None:
        return
    text = key.get_secret_value()
    if any(c.isspace() or not c.isprintable() for c in text):
        yield problem(
            settings,
            "secrets.api_key",
            "must not contain spaces, line breaks or control characters (it travels in an HTTP header)",
            "generate one, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    elif len(text) < _MIN_API_KEY:
        yield problem(
            settings,
            "secrets.api_key",
            f"must be at least {_MIN_API_KEY} characters (short keys are guessable and cannot be masked in logs)",
            "generate one, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )


HOST_RULES = (_bind_and_port, _gpus, _shm_and_name, _timeouts, _api_key)
