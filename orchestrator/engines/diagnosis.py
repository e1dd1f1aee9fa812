"""Turning a failed start's log lines into a known cause and a fix: the rule machinery every engine shares.

Pure functions only. An engine lists its rules in order, most specific first; the first rule with a matching
line wins. Rules about the container rather than the engine (missing image, unreachable registry, busy host
port) live here, so the Docker runtime and every engine's list use the same ones. `redact` masks secrets
before any line is shown; it knows the argument dumps of every engine, so it is safe on any log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "API_PORT_TAKEN",
    "CONTAINER_RULES",
    "DISK_FULL",
    "IMAGE_NOT_FOUND",
    "REGISTRY_UNREACHABLE",
    "Diagnosis",
    "DiagnosisContext",
    "DiagnosisRule",
    "diagnose_with",
    "hub_refused",
    "redact",
    "rule",
]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# TGI prints its parsed arguments (`Args { ..., api_key: Some("..."), ... }`) in clear at start-up.
_ARG_SECRETS = re.compile(
    r"""((?:api_key|hf_token|token|ngrok_authtoken)\s*[:=]\s*Some\()\s*(\\?)".*?\2"\s*\)"""
)
_FLAG_SECRETS = re.compile(r"(--(?:api-key|hf-token|ngrok-authtoken)[= ])\S+")
_HF_TOKEN_SHAPE = re.compile(r"\bhf_[A-Za-z0-9]{20,}\b")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")


def redact(line: str, secrets: Iterable[str] = ()) -> str:
    """`line` without ANSI colours, known secret values, TGI's `api_key: Some("...")` and token-like words."""
    text = _ANSI.sub("", line)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _ARG_SECRETS.sub(r'\1\2"***\2")', text)
    text = _FLAG_SECRETS.sub(r"\1***", text)
    text = _BEARER.sub(r"\1***", text)
    return _HF_TOKEN_SHAPE.sub("hf_***", text)


@dataclass(frozen=True)
class DiagnosisContext:
    """What the rules need to compute a concrete fix (effective settings of the failed deployment)."""

    max_batch_prefill_tokens: int | None = 4096
    max_input_tokens: int | None = 3696
    max_total_tokens: int | None = 4096
    port: int = 8080
    bind_address: str = "127.0.0.1"
    image: str = ""
    shm_size: str = "1g"
    gpus: str = "all"
    gpu_memory_fraction: float | None = None
    """`limits.gpu_memory_fraction`; None: the engine's own default."""


@dataclass(frozen=True)
class Diagnosis:
    """A recognised failure: a stable `key` for tests and tools, the cause and the fix in plain words."""

    key: str
    cause: str
    fix: str
    evidence: str
    """The (redacted) log line that matched."""


Builder = Callable[[re.Match[str], DiagnosisContext], tuple[str, str]]


@dataclass(frozen=True)
class DiagnosisRule:
    key: str
    pattern: re.Pattern[str]
    build: Builder


def rule(key: str, pattern: str, build: Builder) -> DiagnosisRule:
    return DiagnosisRule(key, re.compile(pattern, re.IGNORECASE), build)


def diagnose_with(
    rules: Sequence[DiagnosisRule],
    lines: Sequence[str],
    context: DiagnosisContext | None = None,
    secrets: Iterable[str] = (),
) -> Diagnosis | None:
    """The first of `rules` that matches a line of `lines` (log lines or an engine error message), or None."""
    ctx = context or DiagnosisContext()
    secret_list = [s for s in secrets if s]
    cleaned = [_ANSI.sub("", line) for line in lines]
    for candidate in rules:
        for line in cleaned:
            match = candidate.pattern.search(line)
            if match:
                cause, fix = candidate.build(match, ctx)
                return Diagnosis(
                    candidate.key, redact(cause, secret_list), fix, redact(line, secret_list).strip()
                )
    return None


def _image_missing(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        f"the image {ctx.image or '(engine.image)'} does not exist in its registry or is not accessible",
        "check engine.image for a typo in the name or tag (TGI tags look like 3.3.7, without a `v`); "
        "for a private registry run `docker login` first",
    )


def _registry_unreachable(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        f"the image {ctx.image or '(engine.image)'} is not on this host and its registry cannot be reached",
        "check the registry address and your network or proxy, or load the image locally "
        "(`docker load` / `docker pull` elsewhere) so no pull is needed",
    )


def _api_port(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        f"port {ctx.port} on {ctx.bind_address} is already in use, so the API port cannot be published",
        "pick a free port with --port / host.port (ORCHESTRATOR_HOST__PORT), "
        f"or stop what listens on {ctx.port} "
        "(`orchestrator status` lists our own deployments)",
    )


IMAGE_NOT_FOUND = rule(
    "image_not_found",
    r"manifest unknown|manifest for .* not found|pull access denied|"
    r"repository does not exist|No such image|not found: manifest",
    _image_missing,
)
REGISTRY_UNREACHABLE = rule(
    "registry_unreachable",
    r"(?:dial tcp|lookup) .*(?:connection refused|no such host|i/o timeout)|"
    r"registry .* (?:unreachable|cannot be reached)",
    _registry_unreachable,
)
API_PORT_TAKEN = rule(
    "api_port_taken",
    r"port is already allocated|bind(?: for)? [\d.:\[\]]+:\d+ failed|address already in use",
    _api_port,
)
CONTAINER_RULES: tuple[DiagnosisRule, ...] = (IMAGE_NOT_FOUND, REGISTRY_UNREACHABLE, API_PORT_TAKEN)
"""What the Docker Engine's own errors mean (pull and create), whatever the image serves."""


def hub_refused(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    """A gated or private model, or a bad token: the same cause and fix whichever engine downloads."""
    return (
        "the Hugging Face Hub refused the download (401/403): the model is gated or private, "
        "or the token is missing, wrong or expired",
        "accept the model's licence on huggingface.co with your account, then set secrets.hf_token "
        "(ORCHESTRATOR_SECRETS__HF_TOKEN or the config file) to a valid read token",
    )


def _disk_full(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "the disk holding the weights cache (host.cache_dir, mounted at /data) is full",
        "free space there (the AWQ weights need about 4.2 GB) or point host.cache_dir "
        "(ORCHESTRATOR_HOST__CACHE_DIR) at a larger disk",
    )


DISK_FULL = rule("disk_full", r"No space left on device|Errno 28", _disk_full)
"""Every engine mounts the cache at /data; a full disk reads the same in any of their logs."""
