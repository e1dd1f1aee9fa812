"""What TGI's start-up failures mean: its log lines as known causes, each with a fix in plain words.

The rule machinery and the container-level rules (missing image, busy port) are shared with every engine
(`orchestrator.engines.diagnosis`); here are TGI's own, in the order they are tried, most specific first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from orchestrator.engines.diagnosis import (
    API_PORT_TAKEN,
    DISK_FULL,
    IMAGE_NOT_FOUND,
    REGISTRY_UNREACHABLE,
    Diagnosis,
    DiagnosisContext,
    DiagnosisRule,
    diagnose_with,
    hub_refused,
    rule,
)

__all__ = ["RULES", "RULE_KEYS", "diagnose", "lower_prefill_tokens"]


def lower_prefill_tokens(current: int | None, failed_at: int | None = None) -> int:
    """A prefill budget likely to fit: half of what failed, rounded down to a multiple of 256, >= 256."""
    base = failed_at or current or 4096
    return max(256, (base // 2) // 256 * 256)


def _warmup_oom(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    failed = int(match["n"]) if match.groupdict().get("n") else None
    suggestion = lower_prefill_tokens(ctx.max_batch_prefill_tokens, failed)
    fix = (
        f"lower limits.max_batch_prefill_tokens to {suggestion} "
        f"(--max-batch-prefill-tokens {suggestion} or "
        f"ORCHESTRATOR_LIMITS__MAX_BATCH_PREFILL_TOKENS={suggestion})"
    )
    if ctx.max_input_tokens is not None and suggestion < ctx.max_input_tokens:
        fix += (
            f"; it must stay >= limits.max_input_tokens ({ctx.max_input_tokens}) unless prefill chunking "
            "is on, "
            f"so lower limits.max_input_tokens to {suggestion} as well"
        )
    cause = "the GPU ran out of memory while TGI warmed the model up with a full prefill batch"
    if failed:
        cause += f" of {failed} tokens"
    return cause, fix + ", or use a GPU with more memory"


def _kv_capacity(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    total = int(match["n"])
    lower = max(512, total // 2)
    return (
        f"after warm-up the KV cache cannot hold one request of max_total_tokens={total}",
        f"lower limits.max_total_tokens to {lower} and limits.max_input_tokens below it "
        f"(e.g. {lower - 400 if lower > 800 else lower - 1}), or use a GPU with more memory",
    )


def _shm(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "the shards could not use shared memory (NCCL needs /dev/shm, Docker's default is only 64 MB)",
        f"raise host.shm_size (now {ctx.shm_size}; use 1g or more, ORCHESTRATOR_HOST__SHM_SIZE=1g), "
        "or add NCCL_SHM_DISABLE=1 to the environment when shared memory cannot be raised",
    )


def _old_gpu(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "the GPU is too old for TGI's kernels: AWQ/Marlin and flash attention need compute capability 8.0+ "
        "(Ampere or newer), and Mistral needs flash attention v2",
        "run on an A10G, L4, A100, H100 or newer GPU; on older GPUs serve a non-AWQ checkpoint "
        "(model.quantize unset) with limits.max_input_tokens below the sliding window",
    )


def _sliding(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "the requested max_input_tokens exceeds the model's sliding window and this GPU/backend cannot do "
        "windowed attention",
        f"lower limits.max_input_tokens (now {ctx.max_input_tokens}) below the window "
        "(4096 for Mistral v0.1) "
        "and max_total_tokens accordingly, or use a GPU with flash attention v2 (compute capability 8.0+)",
    )


def _prometheus(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "TGI's Prometheus exporter could not bind port 9000 "
        "(another process in the container's network holds it)",
        "add `--prometheus-port 9001` (any free port) to engine.extra_args, or stop whatever listens on 9000",
    )


def _argument_validation(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    message = match["msg"].replace('\\"', '"').replace("\\`", "`")
    names = sorted(set(re.findall(r"`(max_[a-z_]+|[a-z_]+_tokens?)`", message)))
    where = ", ".join(f"limits.{n}" for n in names) if names else "the named settings"
    return (
        f"TGI's launcher rejected its arguments: {message}",
        f"change {where} so the rule holds (check with `orchestrator config validate`), "
        "or remove conflicting flags from engine.extra_args",
    )


def _download(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "TGI could not download the model weights",
        "check the network route to huggingface.co (or HF_ENDPOINT), or pre-fill host.cache_dir with the "
        "weights and set HF_HUB_OFFLINE=1",
    )


def _entrypoint_missing(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        f"the image {ctx.image or '(engine.image)'} lacks the program the container starts ({match['path']})",
        "use a TGI image (they start with /tgi-entrypoint.sh) or a compatible one; check engine.image and, "
        "for custom images, engine.tgi_version",
    )


def _cuda_missing(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "TGI found no usable CUDA GPU inside the container",
        "check `nvidia-smi` on the host and host.gpus (now "
        f"{ctx.gpus}); the NVIDIA Container Toolkit must be installed and the engine restarted",
    )


def _shard_crash(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "a model shard crashed during start-up (see the log lines below for its error)",
        "read the last shard error below; rerun with --keep-failed to inspect the container "
        "(`orchestrator logs`), and check GPU memory with `nvidia-smi`",
    )


def _webserver_crash(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "TGI's router (web server) exited after the shards loaded, usually a token-limit check against "
        "the memory found at warm-up",
        "read the router error below; lowering limits.max_total_tokens or "
        "limits.max_batch_prefill_tokens usually helps",
    )


RULES: tuple[DiagnosisRule, ...] = (
    IMAGE_NOT_FOUND,
    REGISTRY_UNREACHABLE,
    rule(
        "prometheus_port_taken",
        r"failed to build prometheus recorder|"
        r"(?:prometheus|:9000).*address already in use|address already in use.*9000",
        _prometheus,
    ),
    API_PORT_TAKEN,
    rule("argument_validation", r'ArgumentValidation\(\s*"(?P<msg>(?:[^"\\]|\\.)*)"', _argument_validation),
    rule(
        "warmup_oom",
        r"Not enough memory to handle (?P<n>\d+) prefill tokens|"
        r"decrease `?--max-batch-prefill-tokens`?",
        _warmup_oom,
    ),
    rule(
        "kv_cache_too_small",
        r"(?:Not enough memory to handle `?max_total_tokens=|NotEnoughMemory\()(?P<n>\d+)",  # v3 prints the Debug form
        _kv_capacity,
    ),
    rule(
        "sliding_window",
        r"sliding.?window.*(?:not supported|max.input|--max-input-tokens)|"
        r"max.input.tokens.*sliding.?window",
        _sliding,
    ),
    rule(
        "gpu_too_old",
        r"FlashAttention only supports Ampere|compute capability.*(?:not supported|required|"
        r"too old|< ?8)|no kernel image is available for execution|requires? .*sm_?8|"
        r"(?:awq|marlin|flash.?attention).*(?:not supported on|requires).*(?:GPU|capability)",
        _old_gpu,
    ),
    rule(
        "gated_or_bad_token",
        r"401 Client Error|GatedRepoError|Cannot access gated repo|Access to model .* "
        r"is restricted|Invalid (?:user )?token|Invalid credentials|403 Forbidden.*huggingface|"
        r"RepositoryNotFoundError.*401",
        hub_refused,
    ),
    rule(
        "shm_nccl",
        r"NCCL.*(?:error|failure|WARN)|unhandled system error|Bus error|/dev/shm|"
        r"shared memory.*(?:insufficient|too small|No space)|No space left on device.*shm",
        _shm,
    ),
    rule(
        "cuda_missing",
        r"Found no NVIDIA driver|CUDA driver version is insufficient|"
        r"no CUDA-capable device|CUDA is not available",
        _cuda_missing,
    ),
    rule(
        "entrypoint_missing",
        r"exec:? (?:\"|')?(?P<path>/[^\s:\"']+)(?:\"|')?:? (?:not found|no such file or directory)",
        _entrypoint_missing,
    ),
    DISK_FULL,
    rule("download_failed", r"Download encountered an error", _download),
    rule("webserver_crashed", r"Webserver Crashed", _webserver_crash),
    rule("shard_crashed", r"Shard \d+ (?:failed to start|crashed)", _shard_crash),
)

RULE_KEYS: tuple[str, ...] = tuple(r.key for r in RULES)


def diagnose(
    lines: Sequence[str], context: DiagnosisContext | None = None, secrets: Iterable[str] = ()
) -> Diagnosis | None:
    """The first known cause of a failed TGI start found in `lines`, or None."""
    return diagnose_with(RULES, lines, context, secrets)
