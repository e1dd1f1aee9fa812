"""Command-line flags: every `text-generation-launcher` 3.3.x flag (with its env var) plus `--emulator-*` knobs.

The launcher is a clap program: each flag may also come from an environment variable, flags win over env, and an
unknown flag is a usage error (exit 2). We mirror that with argparse so `orchestrator up` can hand the emulator the
exact argument list it hands TGI. Emulator-only flags are prefixed `--emulator-` (env `EMULATOR_*`) so they can never
clash with a launcher flag. Cross-flag checks that TGI's launcher makes live in `config.py`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["EMULATOR_FLAGS", "LAUNCHER_FLAGS", "Flag", "build_parser", "parse_flags"]


def _bool_value(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"true", "1", "yes", "on"}:
        return True
    if lowered in {"false", "0", "no", "off", ""}:
        return False
    raise argparse.ArgumentTypeError(f"invalid value '{text}' (expected true or false)")


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"invalid value '{text}' (expected comma-separated integers)"
        ) from exc


@dataclass(frozen=True)
class Flag:
    """One flag: long name (no dashes), env var, kind and default, as `text-generation-launcher --help` shows."""

    name: str
    env: str | None
    kind: str  # str | int | float | bool (takes a value) | switch (no value) | list | intlist
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] | None = None
    short: str | None = None

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


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
    Flag("validation-workers", "VALIDATION_WORKERS", "int", 2, "Tokenizer workers; must be > 0"),
    Flag("sharded", "SHARDED", "bool", None, "Shard the model; true needs --num-shard >= 2"),
    Flag("num-shard", "NUM_SHARD", "int", None, "Number of shards; sets the x-compute-type prefix"),
    Flag("quantize", "QUANTIZE", "str", None, "Quantization method; reported only", _QUANT),
    Flag("speculate", "SPECULATE", "int", None, "Speculative tokens; accepted and logged"),
    Flag("dtype", "DTYPE", "str", None, "float16 | bfloat16; accepted and logged", ("float16", "bfloat16")),
    Flag(
        "kv-cache-dtype",
        "KV_CACHE_DTYPE",
        "str",
        None,
        "KV cache dtype; accepted",
        ("fp8_e4m3fn", "fp8_e5m2"),
    ),
    Flag("trust-remote-code", "TRUST_REMOTE_CODE", "switch", False, "Accepted and logged"),
    Flag(
        "max-concurrent-requests",
        "MAX_CONCURRENT_REQUESTS",
        "int",
        128,
        "Permits; beyond them: 429 overloaded",
    ),
    Flag("max-best-of", "MAX_BEST_OF", "int", 2, "Largest accepted best_of"),
    Flag("max-stop-sequences", "MAX_STOP_SEQUENCES", "int", 4, "Largest number of stop sequences"),
    Flag("max-top-n-tokens", "MAX_TOP_N_TOKENS", "int", 5, "Largest top_n_tokens"),
    Flag("max-input-tokens", "MAX_INPUT_TOKENS", "int", None, "Largest prompt in tokens (default total-1)"),
    Flag("max-input-length", "MAX_INPUT_LENGTH", "int", None, "Legacy alias of --max-input-tokens"),
    Flag("max-total-tokens", "MAX_TOTAL_TOKENS", "int", None, "Prompt + new tokens budget per request"),
    Flag(
        "waiting-served-ratio",
        "WAITING_SERVED_RATIO",
        "float",
        0.3,
        "Accepted (ignored with chunking, as TGI)",
    ),
    Flag(
        "max-batch-prefill-tokens", "MAX_BATCH_PREFILL_TOKENS", "int", None, "Prompt tokens per prefill batch"
    ),
    Flag(
        "max-batch-total-tokens",
        "MAX_BATCH_TOTAL_TOKENS",
        "int",
        None,
        "KV token budget of the running batch",
    ),
    Flag("max-waiting-tokens", "MAX_WAITING_TOKENS", "int", 20, "Accepted and logged"),
    Flag("max-batch-size", "MAX_BATCH_SIZE", "int", None, "Largest running batch"),
    Flag("cuda-graphs", "CUDA_GRAPHS", "intlist", None, "Accepted and logged"),
    Flag("hostname", "HOSTNAME", "str", "0.0.0.0", "IP address to bind; anything else falls back to 0.0.0.0"),
    Flag("port", "PORT", "int", 3000, "HTTP port (long form only: `-p` is ambiguous since TGI 3.3.0)"),
    Flag(
        "prometheus-port", "PROMETHEUS_PORT", "int", 9000, "Accepted and logged (metrics are on the API port)"
    ),
    Flag(
        "shard-uds-path", "SHARD_UDS_PATH", "str", "/tmp/text-generation-server", "Shown in shard log lines"
    ),
    Flag("master-addr", "MASTER_ADDR", "str", "localhost", "Accepted"),
    Flag("master-port", "MASTER_PORT", "int", 29500, "Accepted"),
    Flag("huggingface-hub-cache", "HUGGINGFACE_HUB_CACHE", "str", None, "Accepted"),
    Flag("weights-cache-override", "WEIGHTS_CACHE_OVERRIDE", "str", None, "Accepted"),
    Flag("disable-custom-kernels", "DISABLE_CUSTOM_KERNELS", "switch", False, "Accepted"),
    Flag(
        "cuda-memory-fraction", "CUDA_MEMORY_FRACTION", "float", 1.0, "Scales the emulated KV-cache capacity"
    ),
    Flag("rope-scaling", "ROPE_SCALING", "str", None, "Accepted", ("linear", "dynamic")),
    Flag("rope-factor", "ROPE_FACTOR", "float", None, "Accepted"),
    Flag("json-output", "JSON_OUTPUT", "switch", False, "Log lines as JSON objects"),
    Flag("otlp-endpoint", "OTLP_ENDPOINT", "str", None, "Accepted"),
    Flag("otlp-service-name", "OTLP_SERVICE_NAME", "str", "text-generation-inference.router", "Accepted"),
    Flag("cors-allow-origin", "CORS_ALLOW_ORIGIN", "list", None, "Allowed CORS origins (default any)"),
    Flag("api-key", "API_KEY", "str", None, "Bearer key required on generation routes"),
    Flag("watermark-gamma", "WATERMARK_GAMMA", "float", None, "Accepted"),
    Flag("watermark-delta", "WATERMARK_DELTA", "float", None, "Accepted"),
    Flag("ngrok", "NGROK", "switch", False, "Accepted"),
    Flag("ngrok-authtoken", "NGROK_AUTHTOKEN", "str", None, "Accepted"),
    Flag("ngrok-edge", "NGROK_EDGE", "str", None, "Accepted"),
    Flag("tokenizer-config-path", "TOKENIZER_CONFIG_PATH", "str", None, "Accepted"),
    Flag(
        "disable-grammar-support", "DISABLE_GRAMMAR_SUPPORT", "switch", False, "Requests with grammar get 422"
    ),
    Flag("env", None, "switch", False, "Print environment information", short="e"),
    Flag("max-client-batch-size", "MAX_CLIENT_BATCH_SIZE", "int", 4, "Prompts per /v1/completions call"),
    Flag("lora-adapters", "LORA_ADAPTERS", "str", None, "Accepted"),
    Flag(
        "usage-stats",
        "USAGE_STATS",
        "str",
        "on",
        "Accepted (nothing is ever sent)",
        ("on", "off", "no-stack"),
    ),
    Flag("payload-limit", "PAYLOAD_LIMIT", "int", 2_000_000, "Largest request body in bytes (413 above)"),
    Flag("enable-prefill-logprobs", "ENABLE_PREFILL_LOGPROBS", "switch", False, "Prompt logprobs in prefill"),
    Flag(
        "graceful-termination-timeout",
        "GRACEFUL_TERMINATION_TIMEOUT",
        "int",
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
    Flag("emulator-prefill-base-ms", "EMULATOR_PREFILL_BASE_MS", "float", None, "Override: fixed prefill cost"),
    Flag("emulator-prefill-per-token-ms", "EMULATOR_PREFILL_PER_TOKEN_MS", "float", None,
         "Override: prefill cost per prompt token"),
    Flag("emulator-decode-base-ms", "EMULATOR_DECODE_BASE_MS", "float", None, "Override: decode step at batch 1"),
    Flag("emulator-decode-per-seq-ms", "EMULATOR_DECODE_PER_SEQ_MS", "float", None,
         "Override: extra decode-step cost per running sequence"),
    Flag("emulator-eos-rate", "EMULATOR_EOS_RATE", "float", 0.0, "Chance per generated token of ending with EOS"),
    Flag("emulator-startup-seconds", "EMULATOR_STARTUP_SECONDS", "float", None,
         "Total start-up time, split 30/40/30 over download/load/warm-up"),
    Flag("emulator-download-seconds", "EMULATOR_DOWNLOAD_SECONDS", "float", 0.0, "Weight download phase"),
    Flag("emulator-load-seconds", "EMULATOR_LOAD_SECONDS", "float", 0.0, "Shard load phase"),
    Flag("emulator-warmup-seconds", "EMULATOR_WARMUP_SECONDS", "float", 0.0, "Warm-up phase"),
    Flag("emulator-fault-seed", "EMULATOR_FAULT_SEED", "int", 0, "Seed of every fault decision"),
    Flag("emulator-fault-generation-rate", "EMULATOR_FAULT_GENERATION_RATE", "float", 0.0,
         "Share of requests failing with 424 generation"),
    Flag("emulator-fault-incomplete-rate", "EMULATOR_FAULT_INCOMPLETE_RATE", "float", 0.0,
         "Share of requests failing with 500 incomplete_generation"),
    Flag("emulator-fault-overload-rate", "EMULATOR_FAULT_OVERLOAD_RATE", "float", 0.0,
         "Chance per request of starting a 429 overloaded burst"),
    Flag("emulator-fault-overload-burst", "EMULATOR_FAULT_OVERLOAD_BURST", "int", 5,
         "Requests rejected by one 429 burst"),
    Flag("emulator-fault-unhealthy-rate", "EMULATOR_FAULT_UNHEALTHY_RATE", "float", 0.0,
         "Chance per request of opening a 503 unhealthy window"),
    Flag("emulator-fault-unhealthy-seconds", "EMULATOR_FAULT_UNHEALTHY_SECONDS", "float", 2.0,
         "Length of one 503 window (health and generation routes answer 503)"),
    Flag("emulator-fault-reset-rate", "EMULATOR_FAULT_RESET_RATE", "float", 0.0,
         "Share of requests whose connection is reset before the first byte"),
    Flag("emulator-fault-stream-cut-rate", "EMULATOR_FAULT_STREAM_CUT_RATE", "float", 0.0,
         "Share of streams cut (connection dropped) mid-way"),
    Flag("emulator-fault-stream-cut-after", "EMULATOR_FAULT_STREAM_CUT_AFTER", "int", 3,
         "Tokens sent before a cut stream is dropped"),
    Flag("emulator-fault-slow-first-byte-rate", "EMULATOR_FAULT_SLOW_FIRST_BYTE_RATE", "float", 0.0,
         "Share of requests whose response headers are delayed"),
    Flag("emulator-fault-slow-first-byte-seconds", "EMULATOR_FAULT_SLOW_FIRST_BYTE_SECONDS", "float", 5.0,
         "Delay before the first byte of a slow response"),
    Flag("emulator-fault-stall-rate", "EMULATOR_FAULT_STALL_RATE", "float", 0.0,
         "Share of requests that stall after their first token"),
    Flag("emulator-fault-stall-seconds", "EMULATOR_FAULT_STALL_SECONDS", "float", 30.0, "Length of a stall"),
    Flag("emulator-crash-after-requests", "EMULATOR_CRASH_AFTER_REQUESTS", "int", None,
         "Crash like a dead shard (exit 1) when this generation request arrives"),
    Flag("emulator-crash-during-startup", "EMULATOR_CRASH_DURING_STARTUP", "str", None,
         "Fail start-up in this phase (exit 1)", ("download", "load")),
    Flag("emulator-warmup-oom", "EMULATOR_WARMUP_OOM", "switch", False,
         "Fail warm-up with TGI's prefill out-of-memory error (exit 1)"),
    Flag("emulator-retry-after", "EMULATOR_RETRY_AFTER", "float", None,
         "Add Retry-After: SECONDS to 429/503 answers (TGI sends none)"),
    Flag("emulator-log-api-key", "EMULATOR_LOG_API_KEY", "switch", False,
         "Print --api-key in clear in the Args line, as real TGI does (to test log redaction)"),
    Flag("emulator-record-limit", "EMULATOR_RECORD_LIMIT", "int", 10_000,
         "Requests kept in the GET /emulator/requests record"),
)  # fmt: skip

_CONVERTERS: Mapping[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": _bool_value,
    "list": str,
    "intlist": _int_list,
}


def _env_default(flag: Flag, environ: Mapping[str, str]) -> Any:
    if flag.env is None or flag.env not in environ:
        return flag.default
    raw = environ[flag.env]
    if flag.kind == "switch":
        return _bool_value(raw)
    if flag.kind == "list":
        return [part for part in raw.split(",") if part]
    return _CONVERTERS[flag.kind](raw)


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """An argparse parser whose defaults already hold the env values (flags override them, like clap)."""
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="text-generation-launcher",
        description=(
            "TGI 3.3.x emulator (tgi-orchestrator): accepts every text-generation-launcher flag and env var, "
            "serves TGI's HTTP API on the CPU. Emulator-only knobs start with --emulator- (env EMULATOR_*)."
        ),
        allow_abbrev=False,
    )
    groups = (("launcher flags", LAUNCHER_FLAGS), ("emulator flags", EMULATOR_FLAGS))
    for title, flags in groups:
        group = parser.add_argument_group(title)
        for flag in flags:
            names = [f"--{flag.name}"] + ([f"-{flag.short}"] if flag.short else [])
            env_note = f" [env: {flag.env}]" if flag.env else ""
            default_note = f" [default: {flag.default}]" if flag.default not in (None, False) else ""
            help_text = f"{flag.help}{env_note}{default_note}".replace("%", "%%")
            default = _env_default(flag, env)
            if flag.kind == "switch":
                group.add_argument(
                    *names, dest=flag.dest, action="store_true", default=default, help=help_text
                )
            elif flag.kind == "list":
                group.add_argument(*names, dest=flag.dest, action="append", default=None, help=help_text)
                parser.set_defaults(**{f"_env_{flag.dest}": default})
            else:
                group.add_argument(
                    *names,
                    dest=flag.dest,
                    type=_CONVERTERS[flag.kind],
                    default=default,
                    choices=list(flag.choices) if flag.choices else None,
                    metavar=flag.dest.upper(),
                    help=help_text,
                )
    return parser


def parse_flags(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse `argv` (env as defaults); returns {dest: value}. Usage errors exit 2, as clap does."""
    parser = build_parser(environ)
    namespace = parser.parse_args(list(argv))
    values = dict(vars(namespace))
    for flag in LAUNCHER_FLAGS + EMULATOR_FLAGS:
        if flag.kind == "list":
            env_value = values.pop(f"_env_{flag.dest}", None)
            if values.get(flag.dest) is None:
                values[flag.dest] = env_value or []
    return values
