"""vLLM's hardware facts through the same doctor and planner: 7.5+ with AutoAWQ, a budget of total memory that
must be free at start, the fraction from `limits.gpu_memory_fraction`, CUDA not established (not checked)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from orchestrator.config.settings import Settings
from orchestrator.deploy.capacity import plan_report
from orchestrator.deploy.gpu_checks import gpu_verdicts
from orchestrator.engines import engine_for
from tests.gpu.recorded import BUSY_A10G, GIB, H100, T4, report

Make = Callable[..., Settings]


def _verdicts(settings: Settings, gpus: object) -> dict[str, str]:
    return {v.check: v.status for v in gpu_verdicts(settings, plan_report(settings, gpus))}  # type: ignore[arg-type]


def test_vllm_runs_this_awq_checkpoint_on_a_t4_from_0_20(make_settings: Make) -> None:
    found = _verdicts(make_settings(engine__kind="vllm"), report(T4))
    assert found["compute-capability[0]"] == "ok" and found["driver-cuda"] == "warn"  # image CUDA unknown
    old = make_settings(engine__kind="vllm", engine__image="vllm/vllm-openai:v0.19.1")
    assert _verdicts(old, report(T4))["compute-capability[0]"] == "fail"  # awq_marlin is passed: 8.0+


def test_vllm_budget_is_a_share_of_total_memory(make_settings: Make) -> None:
    settings = make_settings(engine__kind="vllm")
    plan = plan_report(settings, report(H100))
    assert plan.capacity is not None
    shard = plan.capacity.shards[0]
    assert plan.capacity.inputs.memory_fraction == 0.92
    assert shard.reserved_bytes == H100.memory_total - int(0.92 * H100.memory_total)
    tgi = plan_report(make_settings(), report(H100)).kv_tokens or 0
    assert 0.8 * tgi < (plan.kv_tokens or 0) < tgi  # 8 % of the card kept out, more overhead


def test_vllm_refuses_when_less_than_its_budget_is_free(make_settings: Make) -> None:
    found = _verdicts(make_settings(engine__kind="vllm"), report(BUSY_A10G))
    assert found["warmup[0]"] == "fail"
    lower = make_settings(engine__kind="vllm", limits__gpu_memory_fraction=0.15)
    idle = replace(BUSY_A10G, memory_free=BUSY_A10G.memory_total - 18 * GIB, processes=())
    assert plan_report(lower, report(idle)).capacity.shards[0].budget_fits  # type: ignore[union-attr]


def test_the_kv_dtype_flag_of_vllm(make_settings: Make) -> None:
    hardware = engine_for("vllm").hardware
    assert hardware.kv_cache_dtype_in_args(["--kv-cache-dtype", "fp8"]) == "fp8"
    assert hardware.kv_cache_dtype_in_args(["--kv_cache_dtype=auto"]) is None
    fp8 = plan_report(
        make_settings(engine__kind="vllm", engine__extra_args=["--kv-cache-dtype", "fp8"]), report(H100)
    )
    assert fp8.to_json()["model"]["kv_bytes_per_token"] == 65_536
