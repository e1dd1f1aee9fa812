"""The emulator-only knobs every front-end takes (`--emulator-*`, env `EMULATOR_*`) and what they build.

One table (name, env var, type, default, help) so each engine's parser exposes the same knobs under its own
parsing rules (TGI's clap, vLLM's argparse), and one set of builders turning parsed values into the core's latency
profile, fault plan and start-up phase lengths. Types are named as the TGI table names them (`f64`, `u64`, `usize`,
`u32`, `str`, `switch`, `enum`). A bad value raises `KnobError`, which each front-end reports its engine's way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.emulator.core.faults import FaultConfig
from orchestrator.emulator.core.latency import LatencyProfile, get_profile

__all__ = ["KNOBS", "Knob", "KnobError", "fault_config", "latency_profile", "phase_seconds", "rate"]


class KnobError(ValueError):
    """An emulator knob has a value the emulator cannot use (message names the flag, the value and the rule)."""


@dataclass(frozen=True)
class Knob:
    """One emulator-only flag: long name (no dashes), env var, type, default, help, enum values."""

    long: str
    env: str
    kind: str
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()

    @property
    def dest(self) -> str:
        return self.long.replace("-", "_")


KNOBS: tuple[Knob, ...] = (
    Knob("emulator-profile", "EMULATOR_PROFILE", "str", "instant",
         "Latency profile: instant, a100-awq, h100-awq, a10g-awq, l4-awq"),
    Knob("emulator-prefill-base-ms", "EMULATOR_PREFILL_BASE_MS", "f64", None, "Override: fixed prefill cost"),
    Knob("emulator-prefill-per-token-ms", "EMULATOR_PREFILL_PER_TOKEN_MS", "f64", None,
         "Override: prefill cost per prompt token"),
    Knob("emulator-decode-base-ms", "EMULATOR_DECODE_BASE_MS", "f64", None, "Override: decode step at batch 1"),
    Knob("emulator-decode-per-seq-ms", "EMULATOR_DECODE_PER_SEQ_MS", "f64", None,
         "Override: extra decode-step cost per running sequence"),
    Knob("emulator-kv-cache-tokens", "EMULATOR_KV_CACHE_TOKENS", "u32", None,
         "Override: the KV-cache capacity warm-up infers (TGI's inferred max batch total tokens)"),
    Knob("emulator-eos-rate", "EMULATOR_EOS_RATE", "f64", 0.0, "Chance per generated token of ending with EOS"),
    Knob("emulator-startup-seconds", "EMULATOR_STARTUP_SECONDS", "f64", None,
         "Total start-up time, split 30/40/30 over download/load/warm-up"),
    Knob("emulator-download-seconds", "EMULATOR_DOWNLOAD_SECONDS", "f64", 0.0, "Weight download phase"),
    Knob("emulator-load-seconds", "EMULATOR_LOAD_SECONDS", "f64", 0.0, "Shard load phase"),
    Knob("emulator-warmup-seconds", "EMULATOR_WARMUP_SECONDS", "f64", 0.0, "Warm-up phase"),
    Knob("emulator-fault-seed", "EMULATOR_FAULT_SEED", "u64", 0, "Seed of every fault decision"),
    Knob("emulator-fault-generation-rate", "EMULATOR_FAULT_GENERATION_RATE", "f64", 0.0,
         "Share of requests failing with 424 generation"),
    Knob("emulator-fault-incomplete-rate", "EMULATOR_FAULT_INCOMPLETE_RATE", "f64", 0.0,
         "Share of requests failing with 500 incomplete_generation"),
    Knob("emulator-fault-overload-rate", "EMULATOR_FAULT_OVERLOAD_RATE", "f64", 0.0,
         "Chance per request of starting a 429 overloaded burst"),
    Knob("emulator-fault-overload-burst", "EMULATOR_FAULT_OVERLOAD_BURST", "usize", 5,
         "Requests rejected by one 429 burst"),
    Knob("emulator-fault-unhealthy-rate", "EMULATOR_FAULT_UNHEALTHY_RATE", "f64", 0.0,
         "Chance per request of opening a 503 unhealthy window"),
    Knob("emulator-fault-unhealthy-seconds", "EMULATOR_FAULT_UNHEALTHY_SECONDS", "f64", 2.0,
         "Length of one 503 window (health and generation routes answer 503)"),
    Knob("emulator-fault-reset-rate", "EMULATOR_FAULT_RESET_RATE", "f64", 0.0,
         "Share of requests whose connection is reset before the first byte"),
    Knob("emulator-fault-stream-cut-rate", "EMULATOR_FAULT_STREAM_CUT_RATE", "f64", 0.0,
         "Share of streams cut (connection dropped) mid-way"),
    Knob("emulator-fault-stream-cut-after", "EMULATOR_FAULT_STREAM_CUT_AFTER", "usize", 3,
         "Tokens sent before a cut stream is dropped"),
    Knob("emulator-fault-slow-first-byte-rate", "EMULATOR_FAULT_SLOW_FIRST_BYTE_RATE", "f64", 0.0,
         "Share of requests whose response headers are delayed"),
    Knob("emulator-fault-slow-first-byte-seconds", "EMULATOR_FAULT_SLOW_FIRST_BYTE_SECONDS", "f64", 5.0,
         "Delay before the first byte of a slow response"),
    Knob("emulator-fault-stall-rate", "EMULATOR_FAULT_STALL_RATE", "f64", 0.0,
         "Share of requests that stall after their first token"),
    Knob("emulator-fault-stall-seconds", "EMULATOR_FAULT_STALL_SECONDS", "f64", 30.0, "Length of a stall"),
    Knob("emulator-crash-after-requests", "EMULATOR_CRASH_AFTER_REQUESTS", "usize", None,
         "Crash like a dead shard (exit 1) when this generation request arrives"),
    Knob("emulator-crash-during-startup", "EMULATOR_CRASH_DURING_STARTUP", "enum", None,
         "Fail start-up in this phase (exit 1)", ("download", "load")),
    Knob("emulator-warmup-oom", "EMULATOR_WARMUP_OOM", "switch", False,
         "Fail warm-up with TGI's prefill out-of-memory error (exit 1)"),
    Knob("emulator-retry-after", "EMULATOR_RETRY_AFTER", "f64", None,
         "Add Retry-After: SECONDS to 429/503 answers (TGI sends none)"),
    Knob("emulator-record-limit", "EMULATOR_RECORD_LIMIT", "usize", 10_000,
         "Requests kept in the GET /emulator/requests record"),
)  # fmt: skip


def latency_profile(v: Mapping[str, Any]) -> LatencyProfile:
    """The named profile with the per-parameter overrides applied."""
    try:
        base = get_profile(str(v["emulator_profile"]))
    except KeyError as exc:
        raise KnobError(str(exc.args[0])) from None
    return base.with_overrides(
        prefill_base_ms=v["emulator_prefill_base_ms"],
        prefill_per_token_ms=v["emulator_prefill_per_token_ms"],
        decode_base_ms=v["emulator_decode_base_ms"],
        decode_per_seq_ms=v["emulator_decode_per_seq_ms"],
    )


def rate(v: Mapping[str, Any], name: str) -> float:
    """A probability knob, checked to lie in [0, 1]."""
    value = float(v[name])
    if not 0.0 <= value <= 1.0:
        flag = "--" + name.replace("_", "-")
        raise KnobError(f"`{flag}` must be a rate between 0 and 1. Given: {value}")
    return value


def fault_config(v: Mapping[str, Any]) -> FaultConfig:
    """The seeded fault plan the `--emulator-fault-*` and crash knobs describe."""
    return FaultConfig(
        seed=int(v["emulator_fault_seed"]),
        generation_rate=rate(v, "emulator_fault_generation_rate"),
        incomplete_rate=rate(v, "emulator_fault_incomplete_rate"),
        overload_rate=rate(v, "emulator_fault_overload_rate"),
        overload_burst=max(1, int(v["emulator_fault_overload_burst"])),
        unhealthy_rate=rate(v, "emulator_fault_unhealthy_rate"),
        unhealthy_seconds=float(v["emulator_fault_unhealthy_seconds"]),
        reset_rate=rate(v, "emulator_fault_reset_rate"),
        stream_cut_rate=rate(v, "emulator_fault_stream_cut_rate"),
        stream_cut_after=max(0, int(v["emulator_fault_stream_cut_after"])),
        slow_first_byte_rate=rate(v, "emulator_fault_slow_first_byte_rate"),
        slow_first_byte_seconds=float(v["emulator_fault_slow_first_byte_seconds"]),
        stall_rate=rate(v, "emulator_fault_stall_rate"),
        stall_seconds=float(v["emulator_fault_stall_seconds"]),
        crash_after_requests=v["emulator_crash_after_requests"],
        crash_during_startup=v["emulator_crash_during_startup"],
        warmup_oom=bool(v["emulator_warmup_oom"]),
        retry_after=v["emulator_retry_after"],
    )


def phase_seconds(v: Mapping[str, Any]) -> tuple[float, float, float]:
    """(download, load, warm-up) seconds: `--emulator-startup-seconds` split 30/40/30, else each phase's knob."""
    total = v["emulator_startup_seconds"]
    if total is not None:
        return (0.3 * total, 0.4 * total, 0.3 * total)
    return (float(v["emulator_download_seconds"]), float(v["emulator_load_seconds"]),
            float(v["emulator_warmup_seconds"]))  # fmt: skip
