"""What vLLM's start-up failures mean: its exact messages [vllm-server.md §1, §2, §4] as known causes with fixes.

The rule machinery and the container-level rules are shared (`orchestrator.engines.diagnosis`). vLLM prints the
root cause first and then `EngineCore failed to start.`, so the specific rules come first and the engine-core
rules last: they name the process that failed when nothing above says why.
"""

from __future__ import annotations

import math
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

__all__ = ["DEFAULT_GPU_MEMORY_UTILIZATION", "RULES", "RULE_KEYS", "diagnose"]

DEFAULT_GPU_MEMORY_UTILIZATION = 0.92
"""vLLM 0.33.0's `--gpu-memory-utilization` default [§2]."""
_FRACTION = "limits.gpu_memory_fraction"
_FRACTION_ENV = "ORCHESTRATOR_LIMITS__GPU_MEMORY_FRACTION"


def _utilization(ctx: DiagnosisContext) -> str:
    if ctx.gpu_memory_fraction is None:
        return f"unset: vLLM's default {DEFAULT_GPU_MEMORY_UTILIZATION}"
    return f"now {ctx.gpu_memory_fraction:g}"


def _free_vram(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    free, total, wanted = float(match["free"]), float(match["total"]), float(match["util"])
    fits = math.floor((free / total) * 100 - 2) / 100 if total else 0.0
    fix = "free the GPU (`nvidia-smi` shows what holds its memory)"
    if fits >= 0.1:
        fix += f", or lower {_FRACTION} ({_utilization(ctx)}) to {fits:g} ({_FRACTION_ENV}={fits:g})"
    return (
        f"only {free:g} of {total:g} GiB are free on {match['dev']}, less than the {wanted:g} share vLLM was told "
        f"to take ({match['want']} GiB): another process uses the GPU",
        fix,
    )


def _kv_too_small(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    estimate = int(match["est"])
    length = match["len"]
    lower = max(256, estimate // 256 * 256)
    return (
        f"the KV cache left after loading the weights holds fewer tokens than one request of max_model_len={length}"
        f" (vLLM estimates at most {estimate})",
        f"lower limits.max_total_tokens to {lower} (--max-total-tokens {lower}), or raise {_FRACTION} "
        f"({_utilization(ctx)}), or use a GPU with more memory",
    )


def _no_kv_room(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "after loading the weights and profiling, no GPU memory was left for KV-cache blocks",
        f"raise {_FRACTION} ({_utilization(ctx)}; at most 1.0), free the GPU of other processes, or use a GPU "
        "with more memory",
    )


def _capability(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    need, have = int(match["min"]) / 10, int(match["cur"]) / 10
    return (
        f"the GPU (compute capability {have:g}) is too old for vLLM's {match['m']} kernels, which need {need:g}+",
        "run on a T4, A10G, L4, A100, H100 or newer GPU (capability 7.5+ with vLLM 0.33's AutoAWQ; older vLLM "
        "releases pick awq_marlin, which needs 8.0+), or serve a non-AWQ checkpoint",
    )


def _max_len(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        f"max_model_len={match['n']} is longer than the model's context ({match['derived']})",
        f"lower limits.max_total_tokens to at most {match['derived']}",
    )


def _batched(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        f"vLLM's step budget max_num_batched_tokens ({match['a']}) is below max_num_seqs ({match['b']})",
        f"raise limits.max_batch_prefill_tokens to at least {match['b']}, or set limits.max_batch_size to at most "
        f"{match['a']}",
    )


def _heads(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        f"the model's {match['heads']} attention heads cannot be split over {match['tp']} GPUs",
        "use a GPU count that divides it (host.num_shard or host.gpus: 1, 2, 4 or 8)",
    )


def _invalid_repo(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        f"vLLM found no model at {match['model']!r}: no such Hub repository (or it is gated and no token was "
        "given), or a local directory without config.json",
        "check model.id for a typo (TheBloke/Mistral-7B-Instruct-v0.2-AWQ), set secrets.hf_token for a gated or "
        "private repository, and check the network route to huggingface.co",
    )


def _shm(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    need = int(match["need"]) if match.groupdict().get("need") else 0
    size = f"{max(1, math.ceil(need * 2 / 1024))}g"
    return (
        "vLLM could not get enough shared memory in /dev/shm (Docker's default is only 64 MB)"
        + (f": {match['need']} MiB required, {match['free']} MiB free" if need else ""),
        f"raise host.shm_size (now {ctx.shm_size}) to {size} or more (ORCHESTRATOR_HOST__SHM_SIZE={size})",
    )


def _unrecognized(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        f"this vLLM does not know the arguments {match['args'].strip()}",
        "remove them from engine.extra_args; if the plan passed them, set engine.vllm_version to the release the "
        "image really runs (`orchestrator config validate` then checks the flags for it)",
    )


def _invalid_choice(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        f"vLLM rejected the value of {match['flag']}: {match['rest'].strip()}",
        "change the setting behind it (`orchestrator config show`) or the value in engine.extra_args",
    )


def _oom(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "the GPU ran out of memory while vLLM loaded the model or profiled a full step",
        f"free the GPU of other processes, lower limits.max_batch_prefill_tokens (now "
        f"{ctx.max_batch_prefill_tokens}) or {_FRACTION} ({_utilization(ctx)}), or use a GPU with more memory",
    )


def _cuda_missing(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "vLLM found no usable CUDA GPU inside the container",
        f"check `nvidia-smi` on the host and host.gpus (now {ctx.gpus}); the NVIDIA Container Toolkit must be "
        "installed and the Docker Engine restarted",
    )


def _entrypoint_missing(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        f"the image {ctx.image or '(engine.image)'} lacks the program the container starts ({match['path']})",
        "use a vllm/vllm-openai image (it starts `vllm serve`) or a compatible one; check engine.image and, for "
        "custom images, engine.vllm_version",
    )


def _ready_timeout(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "vLLM's API server gave up waiting for its engine core (VLLM_ENGINE_READY_TIMEOUT_S, which the plan sets to "
        "timeouts.startup_deadline): the weights downloaded or loaded too slowly",
        "raise timeouts.startup_deadline, or download the weights into host.cache_dir first (a second `up` reuses "
        "them), or use faster storage",
    )


def _config_error(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        f"vLLM rejected its configuration: {match['msg'].strip()}",
        "change the setting the message names (`orchestrator config validate` checks vLLM's known rules), or "
        "the flag in engine.extra_args",
    )


def _engine_died(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "vLLM's engine core process died while serving: requests in flight got 500 and the server stopped",
        "read the engine error above it in the log lines below (often GPU memory or a driver Xid in `dmesg`); "
        "then `orchestrator up --recreate`",
    )


def _core_failed(match: re.Match[str], ctx: DiagnosisContext) -> tuple[str, str]:
    return (
        "vLLM's engine core process failed to start (the log lines below show the error it raised)",
        "read the first error above `EngineCore failed to start`; rerun with --keep-failed to inspect the "
        "container (`orchestrator logs`), and check GPU memory with `nvidia-smi`",
    )


RULES: tuple[DiagnosisRule, ...] = (
    IMAGE_NOT_FOUND,
    REGISTRY_UNREACHABLE,
    API_PORT_TAKEN,
    rule(
        "shm",
        r"Insufficient space in /dev/shm for [^:]*: (?P<need>\d+) MiB required, (?P<free>\d+) MiB free|"
        r"NCCL.*(?:/dev/shm|shared memory|unhandled system error)|Bus error",
        _shm,
    ),
    rule(
        "free_vram_below_utilization",
        r"Free memory on device (?P<dev>\S+) \((?P<free>[\d.]+)/(?P<total>[\d.]+) GiB\) on startup is less than "
        r"desired GPU memory utilization \((?P<util>[\d.]+), (?P<want>[\d.]+) GiB\)",
        _free_vram,
    ),
    rule(
        "kv_cache_below_max_len",
        r"max seq len \((?P<len>\d+)\).*estimated maximum model length is (?P<est>\d+)",
        _kv_too_small,
    ),
    rule(  # the V0-era text (vLLM <= ~0.9)
        "kv_cache_below_max_len",
        r"max seq len \((?P<len>\d+)\) is larger than the maximum number of tokens that can be stored in KV "
        r"cache \((?P<est>\d+)\)",
        _kv_too_small,
    ),
    rule("no_kv_cache_room", r"No available memory for the cache blocks", _no_kv_room),
    rule(
        "gpu_capability",
        r"quantization method (?P<m>\S+) is not supported for the current GPU\. Minimum capability: "
        r"(?P<min>\d+)\. Current capability: (?P<cur>\d+)",
        _capability,
    ),
    rule(
        "max_model_len_too_long",
        r"User-specified max_model_len \((?P<n>\d+)\) is greater than the derived max_model_len "
        r"\((?P<derived>[^)]*)\)",
        _max_len,
    ),
    rule(
        "batched_tokens_below_seqs",
        r"max_num_batched_tokens \((?P<a>\d+)\) must be greater than or equal to max_num_seqs \((?P<b>\d+)\)",
        _batched,
    ),
    rule(
        "tensor_parallel_heads",
        r"Total number of attention heads \((?P<heads>\d+)\) must be divisible by tensor parallel size "
        r"\((?P<tp>\d+)\)",
        _heads,
    ),
    rule(
        "gated_or_bad_token",
        r"GatedRepoError|Cannot access gated repo|401 Client Error|Access to model .* is restricted|"
        r"Invalid (?:user )?token",
        hub_refused,
    ),
    rule(
        "invalid_repo",
        r"Invalid repository ID or local directory specified: '(?P<model>[^']+)'",
        _invalid_repo,
    ),
    rule("unrecognized_arguments", r"error: unrecognized arguments: (?P<args>.+)$", _unrecognized),
    rule(
        "invalid_choice",
        r"argument (?P<flag>--[\w-]+)(?:/[\w-]+)?: (?P<rest>invalid choice: .+)$",
        _invalid_choice,
    ),
    rule("gpu_out_of_memory", r"OutOfMemoryError|CUDA out of memory", _oom),
    rule(
        "cuda_missing",
        r"No CUDA GPUs are available|Found no NVIDIA driver|CUDA driver version is insufficient|"
        r"no CUDA-capable device|Failed to infer device type",
        _cuda_missing,
    ),
    DISK_FULL,
    rule(
        "entrypoint_missing",
        r"exec:? (?:\"|')?(?P<path>[^\s:\"']+)(?:\"|')?:? (?:executable file not found|not found|"
        r"no such file or directory)",
        _entrypoint_missing,
    ),
    rule("engine_ready_timeout", r"Timed out waiting for engine core processes to start", _ready_timeout),
    rule("config_rejected", r"Value error, (?P<msg>.+?)(?: \[type=value_error|$)", _config_error),
    rule(
        "engine_died",
        r"EngineDeadError|EngineCore encountered a fatal error|engine core exited unexpectedly",
        _engine_died,
    ),
    rule(
        "engine_core_failed",
        r"EngineCore failed to start|Engine core initialization failed",
        _core_failed,
    ),
)

RULE_KEYS: tuple[str, ...] = tuple(dict.fromkeys(r.key for r in RULES))


def diagnose(
    lines: Sequence[str], context: DiagnosisContext | None = None, secrets: Iterable[str] = ()
) -> Diagnosis | None:
    """The first known cause of a failed vLLM start (or death) found in `lines`, or None."""
    return diagnose_with(RULES, lines, context, secrets)
