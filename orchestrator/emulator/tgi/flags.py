"""Command-line flags: every `text-generation-launcher` 3.3.x flag (with its env var) plus `--emulator-*` knobs.

The launcher is a clap program: each flag may also come from an environment variable, flags win over env, and a
bad value or an unknown flag is a usage error (exit 2). `clap.py` reproduces that parser; this module is the table
of flags, typed as TGI's `Args` struct types them (`u16` port, `usize` token limits, `f32` ratios, value enums), so
`orchestrator up` can hand the emulator the exact argument list it hands TGI. Emulator-only flags are prefixed
`--emulator-` (env `EMULATOR_*`) so they can never clash with a launcher flag. Cross-flag checks that TGI's launcher
makes live in `config.py`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from orchestrator.emulator.core.knobs import KNOBS
from orchestrator.emulator.tgi.clap import Arg, ClapExit, parse
from orchestrator.emulator.tgi.config import VERSION

__all__ = ["EMULATOR_FLAGS", "LAUNCHER_FLAGS", "Flag", "parse_flags", "parse_or_exit"]

PROG = "text-generation-launcher"
ABOUT = (
    "TGI 3.3.x emulator (tgi-orchestrator): accepts every text-generation-launcher flag and env var, serves TGI's "
    "HTTP API on the CPU. Emulator-only knobs start with --emulator- (env EMULATOR_*)."
)
Flag = Arg
"""One flag: long name (no dashes), env var, clap type, default, help, enum values, short letter."""

_QUANT = ("awq", "compressed-tensors", "eetq", "exl2", "gptq", "marlin", "bitsandbytes", "bitsandbytes-nf4",
          "bitsandbytes-fp4", "fp8")  # fmt: skip

LAUNCHER_FLAGS: tuple[Flag, ...] = (
    Flag(
        "model-id",
        "MODEL_ID",
        "str",
        "bigscience/bloom-560m",
        "Model to load (hub id or local dir); reported only",
    ),
    Flag("revision", "REVISION", "str", None, "Model revision; reported only"),
    Flag("validation-workers", "VALIDATION_WORKERS", "usize", 2, "Tokenizer workers; must be > 0"),
    Flag("sharded", "SHARDED", "bool", None, "Shard the model; true needs --num-shard >= 2"),
    Flag("num-shard", "NUM_SHARD", "usize", None, "Number of shards; sets the x-compute-type prefix"),
    Flag("quantize", "QUANTIZE", "enum", None, "Quantization method; reported only", _QUANT),
    Flag("speculate", "SPECULATE", "usize", None, "Speculative tokens; accepted and logged"),
    Flag("dtype", "DTYPE", "enum", None, "float16 | bfloat16; accepted and logged", ("float16", "bfloat16")),
    Flag(
        "kv-cache-dtype",
        "KV_CACHE_DTYPE",
        "enum",
        None,
        "KV cache dtype; accepted",
        ("fp8_e4m3fn", "fp8_e5m2"),
    ),
    Flag("trust-remote-code", "TRUST_REMOTE_CODE", "switch", False, "Accepted and logged"),
    Flag(
        "max-concurrent-requests",
        "MAX_CONCURRENT_REQUESTS",
        "usize",
        128,
        "Permits; beyond them: 429 overloaded",
    ),
    Flag("max-best-of", "MAX_BEST_OF", "usize", 2, "Largest accepted best_of"),
    Flag("max-stop-sequences", "MAX_STOP_SEQUENCES", "usize", 4, "Largest number of stop sequences"),
    Flag("max-top-n-tokens", "MAX_TOP_N_TOKENS", "u32", 5, "Largest top_n_tokens"),
    Flag("max-input-tokens", "MAX_INPUT_TOKENS", "usize", None, "Largest prompt in tokens (default total-1)"),
    Flag("max-input-length", "MAX_INPUT_LENGTH", "usize", None, "Legacy alias of --max-input-tokens"),
    Flag("max-total-tokens", "MAX_TOTAL_TOKENS", "usize", None, "Prompt + new tokens budget per request"),
    Flag(
        "waiting-served-ratio",
        "WAITING_SERVED_RATIO",
        "f32",
        0.3,
        "Accepted (ignored with chunking, as TGI)",
    ),
    Flag(
        "max-batch-prefill-tokens", "MAX_BATCH_PREFILL_TOKENS", "u32", None, "Prompt tokens per prefill batch"
    ),
    Flag(
        "max-batch-total-tokens",
        "MAX_BATCH_TOTAL_TOKENS",
        "u32",
        None,
        "KV token budget of the running batch",
    ),
    Flag("max-waiting-tokens", "MAX_WAITING_TOKENS", "usize", 20, "Accepted and logged"),
    Flag("max-batch-size", "MAX_BATCH_SIZE", "usize", None, "Largest running batch"),
    Flag("cuda-graphs", "CUDA_GRAPHS", "usizes", None, "Accepted and logged"),
    Flag("hostname", "HOSTNAME", "str", "0.0.0.0", "IP address to bind; anything else falls back to 0.0.0.0"),
    Flag("port", "PORT", "u16", 3000, "HTTP port (long form only: `-p` is ambiguous since TGI 3.3.0)"),
    Flag(
        "prometheus-port", "PROMETHEUS_PORT", "u16", 9000, "Accepted and logged (metrics are on the API port)"
    ),
    Flag(
        "shard-uds-path", "SHARD_UDS_PATH", "str", "/tmp/text-generation-server", "Shown in shard log lines"
    ),
    Flag("master-addr", "MASTER_ADDR", "str", "localhost", "Accepted"),
    Flag("master-port", "MASTER_PORT", "usize", 29500, "Accepted"),
    Flag("huggingface-hub-cache", "HUGGINGFACE_HUB_CACHE", "str", None, "Accepted"),
    Flag("weights-cache-override", "WEIGHTS_CACHE_OVERRIDE", "str", None, "Accepted"),
    Flag("disable-custom-kernels", "DISABLE_CUSTOM_KERNELS", "switch", False, "Accepted"),
    Flag("cuda-memory-fraction", "CUDA_MEMORY_FRACTION", "f32", 1.0, "Scales the emulated KV-cache capacity"),
    Flag("rope-scaling", "ROPE_SCALING", "enum", None, "Accepted", ("linear", "dynamic")),
    Flag("rope-factor", "ROPE_FACTOR", "f32", None, "Accepted"),
    Flag("json-output", "JSON_OUTPUT", "switch", False, "Log lines as JSON objects"),
    Flag("otlp-endpoint", "OTLP_ENDPOINT", "str", None, "Accepted"),
    Flag("otlp-service-name", "OTLP_SERVICE_NAME", "str", "text-generation-inference.router", "Accepted"),
    Flag("cors-allow-origin", "CORS_ALLOW_ORIGIN", "strings", None, "Allowed CORS origins (default any)"),
    Flag("api-key", "API_KEY", "str", None, "Bearer key required on generation routes"),
    Flag("watermark-gamma", "WATERMARK_GAMMA", "f32", None, "Accepted"),
    Flag("watermark-delta", "WATERMARK_DELTA", "f32", None, "Accepted"),
    Flag("ngrok", "NGROK", "switch", False, "Accepted"),
    Flag("ngrok-authtoken", "NGROK_AUTHTOKEN", "str", None, "Accepted"),
    Flag("ngrok-edge", "NGROK_EDGE", "str", None, "Accepted"),
    Flag("tokenizer-config-path", "TOKENIZER_CONFIG_PATH", "str", None, "Accepted"),
    Flag(
        "disable-grammar-support", "DISABLE_GRAMMAR_SUPPORT", "switch", False, "Requests with grammar get 422"
    ),
    Flag("env", None, "switch", False, "Print environment information", short="e"),
    Flag("max-client-batch-size", "MAX_CLIENT_BATCH_SIZE", "usize", 4, "Prompts per /v1/completions call"),
    Flag("lora-adapters", "LORA_ADAPTERS", "str", None, "Accepted"),
    Flag(
        "usage-stats",
        "USAGE_STATS",
        "enum",
        "on",
        "Accepted (nothing is ever sent)",
        ("on", "off", "no-stack"),
    ),
    Flag("payload-limit", "PAYLOAD_LIMIT", "usize", 2_000_000, "Largest request body in bytes (413 above)"),
    Flag("enable-prefill-logprobs", "ENABLE_PREFILL_LOGPROBS", "switch", False, "Prompt logprobs in prefill"),
    Flag(
        "graceful-termination-timeout",
        "GRACEFUL_TERMINATION_TIMEOUT",
        "u64",
        90,
        "Drain seconds on SIGTERM",
        short="g",
    ),
    # Flags of older launchers, accepted so old command lines still start (logged as ignored).
    Flag("enable-cuda-graphs", "ENABLE_CUDA_GRAPHS", "switch", False, "v1.4 only; ignored"),
    Flag("disable-usage-stats", None, "switch", False, "v2.2 only; ignored"),
    Flag("disable-crash-reports", None, "switch", False, "v2.2 only; ignored"),
)

_LOG_API_KEY = Flag(
    "emulator-log-api-key",
    "EMULATOR_LOG_API_KEY",
    "switch",
    False,
    "Print --api-key in clear in the Args line, as real TGI does (to test log redaction)",
)
_SHARED = tuple(Flag(k.long, k.env, k.kind, k.default, k.help, k.choices) for k in KNOBS)
_BEFORE_RECORD_LIMIT = next(i for i, flag in enumerate(_SHARED) if flag.long == "emulator-record-limit")
EMULATOR_FLAGS: tuple[Flag, ...] = (
    *_SHARED[:_BEFORE_RECORD_LIMIT], _LOG_API_KEY, *_SHARED[_BEFORE_RECORD_LIMIT:]
)  # fmt: skip

EMULATOR_FLAGS = tuple(replace(flag, heading="Emulator options") for flag in EMULATOR_FLAGS)


def parse_flags(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse `argv` and env (flags win) into {dest: value}; raises `ClapExit` as clap would exit."""
    env = os.environ if environ is None else environ
    return parse(argv, env, LAUNCHER_FLAGS + EMULATOR_FLAGS, prog=PROG, version=VERSION, about=ABOUT)


def parse_or_exit(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> dict[str, Any] | int:
    """`parse_flags`, or the exit code after printing clap's text (errors to stderr, help/version to stdout)."""
    try:
        return parse_flags(argv, environ)
    except ClapExit as done:
        stream = sys.stderr if done.code else sys.stdout
        stream.write(done.text)
        stream.flush()
        return done.code
