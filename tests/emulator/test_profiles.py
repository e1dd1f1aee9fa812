"""Latency profiles sit above the physical floors of model-facts.md; launcher-flag parsing and defaults (no I/O)."""

from __future__ import annotations

import pytest

from orchestrator.emulator.core.latency import KV_BYTES_PER_TOKEN, PROFILES
from orchestrator.emulator.tgi.config import ArgumentValidationError, build_config
from orchestrator.emulator.tgi.flags import parse_flags

# model-facts.md: decode floor = 4.15 GB of AWQ weights / bandwidth; prefill = 14.5 GFLOP per prompt token.
FLOORS = {"a100-awq": (0.0020, 312e12), "h100-awq": (0.00124, 790e12), "a10g-awq": (0.0069, 125e12),
          "l4-awq": (0.0138, 121e12)}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_profiles_sit_above_physical_floors(name: str) -> None:
    profile = PROFILES[name]
    decode_floor, peak_flops = FLOORS[name]
    assert profile.decode_seconds(1, 0) > decode_floor * 2
    assert profile.prefill_per_token >= 14.5e9 / peak_flops
    assert profile.prefill_seconds(4096) > 4096 * 14.5e9 / peak_flops
    # every KV token read costs 128 KiB at the card's bandwidth
    extra = profile.decode_seconds(1, 10_000) - profile.decode_seconds(1, 0)
    assert extra == pytest.approx(10_000 * KV_BYTES_PER_TOKEN / profile.bandwidth)
    assert profile.decode_seconds(32, 0) > profile.decode_seconds(1, 0)


def test_instant_profile_has_no_delay() -> None:
    assert (
        PROFILES["instant"].prefill_seconds(4096) == 0 and PROFILES["instant"].decode_seconds(64, 10**6) == 0
    )


def test_v3_token_defaults_and_kv_capacity() -> None:
    config = build_config(parse_flags([], environ={}))
    assert (config.max_total_tokens, config.max_input_tokens, config.max_batch_prefill_tokens) == (
        32768,
        32767,
        4096,
    )
    assert config.max_batch_total_tokens == PROFILES["instant"].kv_capacity_tokens() == 536_720
    small = build_config(
        parse_flags(["--emulator-profile", "a10g-awq", "--cuda-memory-fraction", "0.3"], environ={})
    )
    assert small.max_batch_total_tokens < 32768 and small.max_total_tokens == small.max_batch_total_tokens
    assert build_config(parse_flags(["--max-total-tokens", "4096"], environ={})).max_input_tokens == 4095


def test_env_and_flags() -> None:
    values = parse_flags(["--port", "81"], environ={"PORT": "80", "MAX_BATCH_SIZE": "8", "JSON_OUTPUT": "true",
                                                    "CORS_ALLOW_ORIGIN": "http://a,http://b"})  # fmt: skip
    assert values["port"] == 81 and values["max_batch_size"] == 8 and values["json_output"] is True
    assert values["cors_allow_origin"] == [
        "http://a,http://b"
    ]  # clap: no value delimiter on this Vec<String>
    repeated = parse_flags(["--cors-allow-origin", "http://a", "--cors-allow-origin", "http://b"], environ={})
    assert repeated["cors_allow_origin"] == ["http://a", "http://b"]


def test_overrides_and_bad_values() -> None:
    config = build_config(parse_flags(["--emulator-profile", "a100-awq", "--emulator-decode-base-ms", "20"],
                                      environ={}))  # fmt: skip
    assert (
        config.profile.decode_base == 0.020
        and config.profile.prefill_base == PROFILES["a100-awq"].prefill_base
    )
    with pytest.raises(ArgumentValidationError, match="unknown emulator profile"):
        build_config(parse_flags(["--emulator-profile", "tpu"], environ={}))
    with pytest.raises(ArgumentValidationError, match="--emulator-fault-reset-rate"):
        build_config(parse_flags(["--emulator-fault-reset-rate", "2"], environ={}))


def test_num_shard_from_visible_devices() -> None:
    assert build_config(parse_flags([], environ={}), environ={"CUDA_VISIBLE_DEVICES": "0,1"}).num_shard == 2
    assert build_config(parse_flags([], environ={}), environ={"NVIDIA_VISIBLE_DEVICES": "all"}).num_shard == 1
    assert build_config(parse_flags(["--num-shard", "4"], environ={}), environ={}).compute_type.startswith(
        "4-"
    )
    with pytest.raises(ArgumentValidationError) as info:
        build_config(parse_flags(["--sharded", "true"], environ={}), environ={})
    assert info.value.kind == "NotEnoughCUDADevices"
