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

EMULATOR_FLAGS: tuple[Flag, ...] = (
    Flag("emulator-profile", "EMULATOR_PROFILE", "str", "instant",
         "Latency profile: instant, a100-awq, h100-awq, a10g-awq, l4-awq"),
    Flag("emulator-prefill-base-ms", "EMULATOR_PREFILL_BASE_MS", "f64", None, "Override: fixed prefill cost"),
    Flag("emulator-prefill-per-token-ms", "EMULATOR_PREFILL_PER_TOKEN_MS", "f64", None,
         "Override: prefill cost per prompt token"),
    Flag("emulator-decode-base-ms", "EMULATOR_DECODE_BASE_MS", "f64", None, "Override: decode step at batch 1"),
    Flag("emulator-decode-per-seq-ms", "EMULATOR_DECODE_PER_SEQ_MS", "f64", None,
         "Override: extra decode-step cost per running sequence"),
    Flag("emulator-kv-cache-tokens", "EMULATOR_KV_CACHE_TOKENS", "u32", None,
         "Override: the KV-cache capacity warm-up infers (TGI's inferred max batch total tokens)"),
    Flag("emulator-eos-rate", "EMULATOR_EOS_RATE", "f64", 0.0, "Chance per generated token of ending with EOS"),
    Flag("emulator-startup-seconds", "EMULATOR_STARTUP_SECONDS", "f64", None,
         "Total start-up time, split 30/40/30 over download/load/warm-up"),
    Flag("emulator-download-seconds", "EMULATOR_DOWNLOAD_SECONDS", "f64", 0.0, "Weight download phase"),
    Flag("emulator-load-seconds", "EMULATOR_LOAD_SECONDS", "f64", 0.0, "Shard load phase"),
    Flag("emulator-warmup-seconds", "EMULATOR_WARMUP_SECONDS", "f64", 0.0, "Warm-up phase"),
    Flag("emulator-fault-seed", "EMULATOR_FAULT_SEED", "u64", 0, "Seed of every fault decision"),
    Flag("emulator-fault-generation-rate", "EMULATOR_FAULT_GENERATION_RATE", "f64", 0.0,
         "Share of requests failing with 424 generation"),
    Flag("emulator-fault-incomplete-rate", "EMULATOR_FAULT_INCOMPLETE_RATE", "f64", 0.0,
         "Share of requests failing with 500 incomplete_generation"),
    Flag("emulator-fault-overload-rate", "EMULATOR_FAULT_OVERLOAD_RATE", "f64", 0.0,
         "Chance per request of starting a 429 overloaded burst"),
    Flag("emulator-fault-overload-burst", "EMULATOR_FAULT_OVERLOAD_BURST", "usize", 5,
         "Requests rejected by one 429 burst"),
    Flag("emulator-fault-unhealthy-rate", "EMULATOR_FAULT_UNHEALTHY_RATE", "f64", 0.0,
         "Chance per request of opening a 503 unhealthy window"),
    Flag("emulator-fault-unhealthy-seconds", "EMULATOR_FAULT_UNHEALTHY_SECONDS", "f64", 2.0,
         "Length of one 503 window (health and generation routes answer 503)"),
    Flag("emulator-fault-reset-rate", "EMULATOR_FAULT_RESET_RATE", "f64", 0.0,
         "Share of requests whose connection is reset before the first byte"),
    Flag("emulator-fault-stream-cut-rate", "EMULATOR_FAULT_STREAM_CUT_RATE", "f64", 0.0,
         "Share of streams cut (connection dropped) mid-way"),
    Flag("emulator-fault-stream-cut-after", "EMULATOR_FAULT_STREAM_CUT_AFTER", "usize", 3,
         "Tokens sent before a cut stream is dropped"),
    Flag("emulator-fault-slow-first-byte-rate", "EMULATOR_FAULT_SLOW_FIRST_BYTE_RATE", "f64", 0.0,
         "Share of requests whose response headers are delayed"),
    Flag("emulator-fault-slow-first-byte-seconds", "EMULATOR_FAULT_SLOW_FIRST_BYTE_SECONDS", "f64", 5.0,
         "Delay before the first byte of a slow response"),
    Flag("emulator-fault-stall-rate", "EMULATOR_FAULT_STALL_RATE", "f64", 0.0,
         "Share of requests that stall after their first token"),
    Flag("emulator-fault-stall-seconds", "EMULATOR_FAULT_STALL_SECONDS", "f64", 30.0, "Length of a stall"),
    Flag("emulator-crash-after-requests", "EMULATOR_CRASH_AFTER_REQUESTS", "usize", None,
         "Crash like a dead shard (exit 1) when this generation request arrives"),
    Flag("emulator-crash-during-startup", "EMULATOR_CRASH_DURING_STARTUP", "enum", None,
         "Fail start-up in this phase (exit 1)", ("download", "load")),
    Flag("emulator-warmup-oom", "EMULATOR_WARMUP_OOM", "switch", False,
         "Fail warm-up with TGI's prefill out-of-memory error (exit 1)"),
    Flag("emulator-retry-after", "EMULATOR_RETRY_AFTER", "f64", None,
         "Add Retry-After: SECONDS to 429/503 answers (TGI sends none)"),
    Flag("emulator-log-api-key", "EMULATOR_LOG_API_KEY", "switch", False,
         "Print --api-key in clear in the Args line, as real TGI does (to test log redaction)"),
    Flag("emulator-record-limit", "EMULATOR_RECORD_LIMIT", "usize", 10_000,
         "Requests kept in the GET /emulator/requests record"),
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
