"""vLLM's own start-up checks [vllm-server.md §1, §2], made before anything is pulled instead of after a download,
and what the shared settings mean (or do not mean) on vLLM.

Each rule reads settings by dotted path from a `RuleInput` and yields `EngineProblem`s; the configuration layer
adds where each value came from. The rule texts quote vLLM's own messages where it has one, so a user sees the
error vLLM would have printed, and the setting that fixes it.
"""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.engines.base import EngineProblem, Rule, RuleInput
from orchestrator.engines.vllm.chat_template import wants_mistral_template
from orchestrator.engines.vllm.flags import OWNED_FLAGS, SECRET_FLAGS, flag_name, owned_flag_in
from orchestrator.engines.vllm.launch import SHUTDOWN_MARGIN
from orchestrator.engines.vllm.versions import (
    DEFAULT_VERSION,
    IMAGE_REPOSITORY,
    OLDEST_SUPPORTED,
    facts_for,
    format_version,
    parse_version,
)

__all__ = ["DRAIN_SECONDS", "QUANTIZATIONS", "RULES"]

DRAIN_SECONDS = 0
"""vLLM's default `--shutdown-timeout`: 0 aborts in-flight requests on SIGTERM [§7] (the plan sets its own)."""
DTYPES = ("auto", "bfloat16", "float", "float16", "float32", "half")
"""`--dtype` choices (argparse exits 2 on others) [§2]."""
AWQ_DTYPES = ("auto", "float16", "half", "bfloat16")
"""AutoAWQ's activation dtypes are fp16/bf16 [§1]."""
QUANTIZATIONS = (
    "awq",
    "awq_marlin",
    "gptq",
    "gptq_marlin",
    "fp8",
    "bitsandbytes",
    "compressed-tensors",
    "marlin",
    "gguf",
)
"""The `--quantization` methods this tool passes through (vLLM knows more; these are the checkpoint kinds it serves)."""
MISTRAL_MAX_LEN = 32768
"""Mistral 7B v0.2's `max_position_embeddings`, vLLM's derived max model len [§2]."""
MISTRAL_HEADS = 32
DEFAULT_MAX_NUM_SEQS = 1024
"""vLLM's default `--max-num-seqs` on GPUs with >= 70 GiB (256 below) [§2]: the bound an unset cap may reach."""


def _model(rin: RuleInput) -> Iterator[EngineProblem]:
    values = rin.values
    quantize, dtype, model_id = (
        values["model.quantize"] or None,
        values["model.dtype"] or None,
        values["model.id"],
    )
    if quantize is not None and quantize not in QUANTIZATIONS:
        yield EngineProblem(
            "model.quantize",
            f"vLLM has no --quantization {quantize} (TGI's names differ): `Unknown quantization method: {quantize}`",
            f"set {rin.where('model.quantize')} to awq for this model (or unset it: vLLM reads the method from "
            "config.json), else one of " + ", ".join(QUANTIZATIONS),
        )
    elif quantize is not None and "awq" in model_id.lower() and "awq" not in quantize:
        yield EngineProblem(
            "model.quantize",
            "vLLM refuses it for an AWQ checkpoint: `Quantization method specified in the model config (awq) does "
            f"not match the quantization method specified in the `quantization` argument ({quantize}).`",
            f"set {rin.where('model.quantize')} to awq, or unset it",
        )
    if dtype is not None and dtype not in DTYPES:
        yield EngineProblem(
            "model.dtype",
            f"vLLM's --dtype accepts {', '.join(DTYPES)} (`argument --dtype: invalid choice: '{dtype}'`)",
            "use float16 (half) for AWQ, or unset it (auto)",
        )
    elif dtype is not None and quantize in ("awq", "awq_marlin") and dtype not in AWQ_DTYPES:
        yield EngineProblem(
            "model.dtype",
            f"`{dtype} is not supported for quantization method awq. Supported dtypes: [float16, bfloat16]`",
            "unset model.dtype or use float16",
        )


def _limits(rin: RuleInput) -> Iterator[EngineProblem]:
    values, src = rin.values, rin.source_of
    max_len, batched = values["limits.max_total_tokens"], values["limits.max_batch_prefill_tokens"]
    seqs = values["limits.max_batch_size"]
    for name, value in (
        ("max_total_tokens", max_len),
        ("max_batch_prefill_tokens", batched),
        ("max_batch_size", seqs),
        ("max_top_n_tokens", values["limits.max_top_n_tokens"]),
    ):
        if value is not None and value < (0 if name == "max_top_n_tokens" else 1):
            yield EngineProblem(f"limits.{name}", "must be at least 1 for vLLM", "raise it")
            return
    if wants_mistral_template(values["model.id"]) and max_len > MISTRAL_MAX_LEN:
        yield EngineProblem(
            "limits.max_total_tokens",
            f"is vLLM's --max-model-len: `User-specified max_model_len ({max_len}) is greater than the derived "
            f"max_model_len (max_position_embeddings={MISTRAL_MAX_LEN} ...)`",
            f"lower it to at most {MISTRAL_MAX_LEN} (the model's context)",
        )
    cap = seqs if seqs is not None else DEFAULT_MAX_NUM_SEQS
    if batched < cap:
        fix = (
            f"raise max_batch_prefill_tokens to at least {cap} or lower limits.max_batch_size"
            if seqs is not None
            else f"raise max_batch_prefill_tokens to at least {cap}, or set limits.max_batch_size to at most "
            f"{batched} (unset, vLLM runs up to {DEFAULT_MAX_NUM_SEQS} sequences on a large GPU)"
        )
        yield EngineProblem(
            "limits.max_batch_prefill_tokens",
            f"is vLLM's --max-num-batched-tokens: `max_num_batched_tokens ({batched}) must be greater than or "
            f"equal to max_num_seqs ({cap})` (max_num_seqs from "
            f"{src('limits.max_batch_size') if seqs is not None else 'vLLM default'})",
            fix,
        )


def _shards(rin: RuleInput) -> Iterator[EngineProblem]:
    shards = rin.values["host.num_shard"]
    if shards is None or not wants_mistral_template(rin.values["model.id"]):
        return
    if shards < 1 or MISTRAL_HEADS % shards:
        yield EngineProblem(
            "host.num_shard",
            f"is vLLM's --tensor-parallel-size: `Total number of attention heads ({MISTRAL_HEADS}) must be "
            f"divisible by tensor parallel size ({shards}).`",
            "use 1, 2, 4 or 8 GPUs",
        )


def _is_vllm_repository(image: str) -> bool:
    return image.split("@", 1)[0].rsplit(":", 1)[0] == IMAGE_REPOSITORY


def _version(rin: RuleInput) -> Iterator[EngineProblem]:
    image, pinned = rin.values["engine.image"], rin.values["engine.vllm_version"]
    if not image.strip() or any(c.isspace() for c in image):
        yield EngineProblem(
            "engine.image",
            "must be an image reference without spaces",
            f"e.g. {IMAGE_REPOSITORY}:{DEFAULT_VERSION}",
        )
        return
    if pinned is not None and parse_version(pinned) is None:
        yield EngineProblem(
            "engine.vllm_version", "is not a version", "use X.Y.Z, e.g. 0.33.0 (the vLLM the image runs)"
        )
        return
    version = rin.version
    if version is None:
        yield EngineProblem(
            "engine.image",
            "its tag does not name a vLLM release, so the entrypoint form and flags cannot be chosen",
            f"pin the image to a release tag ({IMAGE_REPOSITORY}:{DEFAULT_VERSION}), or set "
            f"{rin.where('engine.vllm_version')} to the vLLM version the image runs",
        )
    elif version < OLDEST_SUPPORTED:
        custom = not pinned and not _is_vllm_repository(image)
        yield EngineProblem(
            "engine.image" if not pinned else "engine.vllm_version",
            f"{'its tag is read as ' if custom else ''}vLLM {format_version(version)}, older than "
            f"{format_version(OLDEST_SUPPORTED)} (the oldest release whose API this tool speaks)"
            + ("; the tag of a custom image need not be vLLM's" if custom else ""),
            f"name the vLLM version the image runs in engine.vllm_version (env {rin.env_var('engine.vllm_version')})"
            if custom
            else f"use vLLM {format_version(OLDEST_SUPPORTED)} or newer ({DEFAULT_VERSION} is pinned by default)",
        )


def _extra_args(rin: RuleInput) -> Iterator[EngineProblem]:
    version = rin.version
    facts = facts_for(version) if version is not None else None
    for arg in rin.values["engine.extra_args"]:
        name = flag_name(arg)
        if arg == "serve":
            yield EngineProblem(
                "engine.extra_args",
                "`serve` is already the image's entrypoint (`vllm: error: unrecognized arguments: serve`)",
                "remove it: extra args are `vllm serve` options",
            )
            continue
        removed = facts.removed(name) if facts is not None and arg.startswith("--") else None
        if removed:
            yield EngineProblem(
                "engine.extra_args",
                f"{name}: {removed}; vLLM {format_version(facts.version) if facts else ''} exits with "
                f"`vllm: error: unrecognized arguments: {arg}`",
                f"remove {name}",
            )
            continue
        flag = owned_flag_in(arg)
        if flag is None:
            continue
        setting = OWNED_FLAGS[flag]
        if flag in SECRET_FLAGS:
            fix = (
                f"remove {flag} (it would show in process lists and logs); set {rin.env_var(setting)} instead"
            )
        elif setting in {"host.port", "host.bind_address"}:
            fix = f"remove {flag}: vLLM listens on 0.0.0.0:8000 in the container; set {setting} for the host side"
        elif flag == "--shutdown-timeout":
            fix = f"remove it: the drain is timeouts.stop_grace minus {SHUTDOWN_MARGIN} s; set {rin.where(setting)}"
        else:
            fix = f"remove {flag} and set {rin.where(setting)}"
        yield EngineProblem("engine.extra_args", f"{flag} is already set by the plan from {setting}", fix)


def _stop_grace(rin: RuleInput) -> Iterator[EngineProblem]:
    grace = rin.values["timeouts.stop_grace"]
    if 0 < grace <= SHUTDOWN_MARGIN:
        yield EngineProblem(
            "timeouts.stop_grace",
            f"leaves vLLM no time to drain: the plan keeps {SHUTDOWN_MARGIN} s of it for vLLM's own shutdown and "
            "passes the rest as --shutdown-timeout",
            f"use at least {SHUTDOWN_MARGIN + 30} (default 120), or 0 to abort in-flight requests on stop",
        )


RULES: tuple[Rule, ...] = (_model, _limits, _shards, _version, _extra_args, _stop_grace)
