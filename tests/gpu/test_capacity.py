"""The planner's formulas on recorded GPUs: KV bytes, KV-cache capacity per engine semantics, layout, warm-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from orchestrator.config.settings import Settings
from orchestrator.deploy.capacity import plan_report
from orchestrator.engines.tgi.hardware import facts_for
from orchestrator.gpu.capacity import CapacityInputs, plan_capacity
from orchestrator.gpu.model_facts import MISTRAL_7B_AWQ
from tests.gpu.recorded import A10G, A100_40, H100, H200, H200_REPORT, L4, MIB, report

GIB = 1 << 30


def _inputs(**changes: object) -> CapacityInputs:
    base = CapacityInputs(
        model=MISTRAL_7B_AWQ,
        weights_bytes=MISTRAL_7B_AWQ.weights_bytes,
        weights_source="model facts",
        hardware=facts_for((3, 3, 7)),
        memory_fraction=1.0,
        kv_dtype="float16",
        kv_element_bytes=2,
        max_total_tokens=4096,
        max_batch_prefill_tokens=4096,
        num_shard=1,
        shard_explicit=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_kv_bytes_per_token_is_128_kib_in_fp16_and_half_in_fp8() -> None:
    assert MISTRAL_7B_AWQ.kv_bytes_per_token() == 131_072
    assert MISTRAL_7B_AWQ.kv_bytes_per_token(1) == 65_536
    assert (
        4096 * MISTRAL_7B_AWQ.kv_bytes_per_token() == 512 * MIB
    )  # model-facts.md: 512 MiB per full sequence


def test_h200_lands_near_and_below_the_physical_bound() -> None:
    """model-facts.md: 140 GiB minus weights is about 1.1 million fp16 tokens before any engine reserve."""
    plan = plan_capacity(H200_REPORT.gpus, _inputs())
    bound = (H200.memory_free - MISTRAL_7B_AWQ.weights_bytes) // 131_072
    assert plan.kv_tokens is not None
    assert 0.9 * bound < plan.kv_tokens < bound
    assert plan.full_sequences == plan.kv_tokens // 4096 and plan.full_sequences > 250
    assert plan.shards[0].warmup_fits and plan.shards[0].reserved_bytes == 0


def test_the_kv_dtype_and_the_memory_fraction_change_it() -> None:
    full = plan_capacity([H100], _inputs()).kv_tokens or 0
    fp8 = plan_capacity([H100], _inputs(kv_element_bytes=1, kv_dtype="fp8_e5m2")).kv_tokens or 0
    half = plan_capacity([H100], _inputs(memory_fraction=0.5)).kv_tokens or 0
    assert abs(fp8 / full - 2) < 0.01  # half the bytes per token, the same bytes
    reserved = int(0.5 * H100.memory_total)
    assert (
        half == plan_capacity([replace(H100, memory_free=H100.memory_free - reserved)], _inputs()).kv_tokens
    )


def test_capacity_grows_with_the_card() -> None:
    tokens = [plan_capacity([g], _inputs()).kv_tokens or 0 for g in (L4, A10G, A100_40, H100, H200)]
    assert tokens == sorted(tokens) and tokens[0] > 4096
    a10g = plan_capacity([A10G], _inputs())
    assert 100_000 < (a10g.kv_tokens or 0) < (A10G.memory_free - MISTRAL_7B_AWQ.weights_bytes) // 131_072


def test_vllm_semantics_budget_of_total_and_refusal_when_not_free() -> None:
    vllm = replace(facts_for((3, 3, 7)), fraction_of_total_is_reserved=False, kv_headroom=1.0)
    plan = plan_capacity([H100], _inputs(hardware=vllm, memory_fraction=0.92))
    expected = int(0.92 * H100.memory_total) - GIB - MISTRAL_7B_AWQ.weights_bytes
    shard = plan.shards[0]
    assert shard.budget_fits and abs(shard.kv_bytes - (expected - 4096 * 122_880)) < MIB
    busy = replace(H100, memory_free=H100.memory_total // 2)
    assert not plan_capacity([busy], _inputs(hardware=vllm, memory_fraction=0.92)).shards[0].budget_fits


def test_warm_up_that_cannot_fit_and_the_largest_safe_prefill() -> None:
    tiny = replace(L4, memory_free=6 * GIB)
    plan = plan_capacity([tiny], _inputs(max_batch_prefill_tokens=16_384))
    shard = plan.shards[0]
    assert not shard.warmup_fits
    assert 4096 <= shard.largest_safe_prefill < 16_384
    safe = plan_capacity([tiny], _inputs(max_batch_prefill_tokens=shard.largest_safe_prefill)).shards[0]
    assert safe.warmup_fits and safe.kv_tokens >= 4096


def test_layout_recommends_one_shard_replicas_unless_told() -> None:
    four = plan_capacity([H100] * 4, _inputs(num_shard=4))
    assert (four.layout.replicas, four.layout.shards_per_replica) == (4, 1)
    assert len(four.shards) == 4 and len(four.replicas) == 4
    assert four.shards[0].weights_bytes == MISTRAL_7B_AWQ.weights_bytes // 4
    told = plan_capacity([H100] * 4, _inputs(num_shard=2, shard_explicit=True))
    assert (told.layout.replicas, told.layout.shards_per_replica) == (
        2,
        2,
    ) and "host.num_shard" in told.layout.reason


def test_plan_report_from_settings(make_settings: Callable[..., Settings]) -> None:
    four = report(H100, H100, H100, H100)
    plan = plan_report(make_settings(), four)
    assert plan.num_shard == 4  # --num-shard from the real GPU count, no "unknown" warning
    assert not any("unknown" in note for note in plan.notes)
    assert plan.to_json()["capacity"]["layout"]["recommended_replicas"] == 4
    picked = plan_report(make_settings(host__gpus="1,3"), four)
    assert [g.index for g in picked.selected.gpus] == [1, 3] and picked.num_shard == 2
    fp8 = plan_report(make_settings(engine__extra_args=["--kv-cache-dtype", "fp8_e5m2"]), report(H100))
    assert fp8.to_json()["model"]["kv_bytes_per_token"] == 65_536
    frac = plan_report(make_settings(limits__gpu_memory_fraction=0.8), report(H100))
    assert frac.capacity is not None and frac.capacity.inputs.memory_fraction == 0.8
    other = plan_report(make_settings(model__id="org/other-model"), report(H100))
    assert other.capacity is None and any("no recorded architecture" in n for n in other.notes)
