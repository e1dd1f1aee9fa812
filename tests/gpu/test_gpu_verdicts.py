"""The doctor's GPU verdicts on recorded NVML values: each card's verdicts asserted, and the no-driver host."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from orchestrator.config.settings import Settings
from orchestrator.deploy.capacity import plan_report
from orchestrator.deploy.gpu_checks import CUDA_COMPATIBILITY, gpu_verdicts
from orchestrator.deploy.verdicts import Verdict
from orchestrator.gpu.nvml import NO_PACKAGE, read_gpus
from orchestrator.gpu.values import GpuReport
from tests.gpu.recorded import (
    A10G,
    A100_40,
    A100_80,
    B200,
    BUSY_A10G,
    H100,
    H200_REPORT,
    L4,
    MIG_A100,
    T4,
    GpuInfo,
    report,
)

Make = Callable[..., Settings]


def verdicts(settings: Settings, gpus: GpuReport) -> dict[str, Verdict]:
    return {v.check: v for v in gpu_verdicts(settings, plan_report(settings, gpus))}


def statuses(found: dict[str, Verdict]) -> dict[str, str]:
    return {name: v.status for name, v in found.items()}


@pytest.mark.parametrize("card", [H100, A100_80, A100_40, A10G, L4], ids=lambda g: g.name)
def test_supported_cards_pass_every_check(make_settings: Make, card: GpuInfo) -> None:
    found = verdicts(make_settings(), report(card))
    assert statuses(found) == {
        "gpu-driver": "ok",
        "gpu-selection": "ok",
        "compute-capability[0]": "ok",
        "driver-cuda": "ok",
        "mig[0]": "ok",
        "gpu-memory-in-use[0]": "ok",
        "warmup[0]": "ok",
        "vram": "ok",
        "layout": "ok",
    }
    assert found["vram"].details["kv_tokens"] >= 4096 * 10


def test_h200_as_recorded(make_settings: Make) -> None:
    found = verdicts(make_settings(), H200_REPORT)
    assert all(v.status == "ok" for v in found.values())
    assert "CUDA 13.0" in found["driver-cuda"].summary
    assert 1_000_000 < found["vram"].details["kv_tokens"] < 1_100_000


def test_t4_fails_for_tgi_awq_with_the_rule(make_settings: Make) -> None:
    found = verdicts(make_settings(), report(T4))
    cc = found["compute-capability[0]"]
    assert cc.status == "fail" and "7.5" in cc.summary and "8.0" in cc.summary
    assert "flash-attention v2" in cc.cause and cc.fix


def test_a_newer_architecture_than_the_kernels_warns(make_settings: Make) -> None:
    assert verdicts(make_settings(), report(B200))["compute-capability[0]"].status == "warn"


def test_memory_held_by_another_process(make_settings: Make) -> None:
    found = verdicts(make_settings(), report(BUSY_A10G))
    held = found["gpu-memory-in-use[0]"]
    assert held.status == "warn" and "pid 4242" in held.summary and "18.0 GiB" in held.summary
    idle = verdicts(make_settings(), report(A10G))["vram"].details["kv_tokens"]
    assert found["vram"].status == "ok" and found["vram"].details["kv_tokens"] < idle / 3
    silent = replace(A10G, memory_free=A10G.memory_free - 6 * (1 << 30))
    assert verdicts(make_settings(), report(silent))["gpu-memory-in-use[0]"].status == "warn"


def test_a_card_too_full_for_the_limits_fails_vram(make_settings: Make) -> None:
    full = replace(BUSY_A10G, memory_free=int(6.5 * (1 << 30)))
    found = verdicts(
        make_settings(limits__max_total_tokens=32768, limits__max_input_tokens=4000), report(full)
    )
    assert found["warmup[0]"].status == "ok"
    assert found["vram"].status == "fail" and "max_total_tokens = 32768" in found["vram"].cause
    assert found["vram"].details["kv_tokens"] < 32768 and "--kv-cache-dtype" in found["vram"].fix
    tight = verdicts(make_settings(), report(replace(full, memory_free=5 * (1 << 30))))
    assert tight["warmup[0]"].status == "fail"


def test_warm_up_oom_names_the_largest_safe_prefill(make_settings: Make) -> None:
    small = replace(L4, memory_free=7 * (1 << 30))
    found = verdicts(
        make_settings(limits__max_batch_prefill_tokens=32_000, limits__max_input_tokens=3696), report(small)
    )
    warm = found["warmup[0]"]
    assert warm.status == "fail" and "--max-batch-prefill-tokens" in warm.fix
    assert 0 < warm.details["largest_safe_prefill_tokens"] < 32_000


def test_mig_on_fails(make_settings: Make) -> None:
    found = verdicts(make_settings(), report(MIG_A100))
    assert found["mig[0]"].status == "fail" and "nvidia-smi -i 0 -mig 0" in found["mig[0]"].fix


@pytest.mark.parametrize(
    ("cuda", "status"),
    [((13, 0), "ok"), ((12, 4), "ok"), ((12, 2), "warn"), ((12, 0), "fail"), ((11, 8), "fail")],
)
def test_driver_cuda_against_the_image(make_settings: Make, cuda: tuple[int, int], status: str) -> None:
    found = verdicts(make_settings(), report(H100, cuda=cuda))["driver-cuda"]
    assert found.status == status
    if status != "ok":
        assert CUDA_COMPATIBILITY in found.cause and "12.4" in found.fix


def test_older_tgi_images_have_older_cuda(make_settings: Make) -> None:
    found = verdicts(
        make_settings(engine__image="ghcr.io/huggingface/text-generation-inference:2.0.4"),
        report(H100, cuda=(12, 1)),
    )
    assert found["driver-cuda"].status == "ok" and "CUDA 12.1" in found["driver-cuda"].summary


def test_selection_by_index_and_uuid(make_settings: Make) -> None:
    two = report(H100, T4)
    assert verdicts(make_settings(host__gpus="0"), two)["compute-capability[0]"].status == "ok"
    assert "compute-capability[1]" not in verdicts(make_settings(host__gpus="0"), two)
    uuid = two.gpus[1].uuid.upper()
    assert verdicts(make_settings(host__gpus=uuid), two)["compute-capability[1]"].status == "fail"
    missing = verdicts(make_settings(host__gpus="5"), two)["gpu-selection"]
    assert missing.status == "fail" and "5" in missing.summary and two.gpus[0].uuid in missing.cause


def test_no_driver_this_machine_for_real(make_settings: Make) -> None:
    real = read_gpus()
    assert not real.available  # this machine has no NVIDIA driver
    found = verdicts(make_settings(), real)
    if real.error == NO_PACKAGE:
        assert statuses(found) == {"gpu-driver": "warn"}
    else:
        assert statuses(found) == {"gpu-driver": "fail"}
        assert found["gpu-driver"].summary == "no NVIDIA driver" and "--gpus none" in found["gpu-driver"].fix


def test_no_gpu_asked_for_needs_no_driver(make_settings: Make) -> None:
    assert statuses(verdicts(make_settings(host__gpus="none"), read_gpus())) == {"gpu": "ok"}


def test_a_remote_engine_is_not_read(make_settings: Make) -> None:
    settings = make_settings()
    found = list(gpu_verdicts(settings, plan_report(settings, report(H100)), remote=True))
    assert [(v.check, v.status) for v in found] == [("gpu", "warn")]


def test_implicit_sharding_warns_and_names_the_replicas(make_settings: Make) -> None:
    four = report(H100, H100, H100, H100)
    found = verdicts(make_settings(), four)["layout"]
    assert found.status == "warn" and "4-way sharded" in found.summary and "4 one-shard replicas" in found.fix
    assert verdicts(make_settings(host__num_shard=4), four)["layout"].status == "ok"  # told otherwise


def test_vllm_runs_on_a_t4_where_tgi_awq_cannot(make_settings: Make) -> None:
    found = verdicts(make_settings(engine__kind="vllm"), report(T4))
    cc = found["compute-capability[0]"]
    assert cc.status == "ok" and "7.5" in cc.summary
    # the vLLM image's CUDA base is not established: said, not guessed
    assert found["driver-cuda"].status == "warn" and "unknown" in found["driver-cuda"].summary


def test_vllm_budgets_its_utilisation_of_the_h200(make_settings: Make) -> None:
    tgi = verdicts(make_settings(), H200_REPORT)["vram"].details["kv_tokens"]
    vllm = verdicts(make_settings(engine__kind="vllm"), H200_REPORT)["vram"].details["kv_tokens"]
    # vLLM takes 0.92 x total for itself; TGI's fraction 1.0 keeps nothing back: vLLM's cache is smaller
    assert 0.8 * tgi < vllm < tgi
    lower = verdicts(make_settings(engine__kind="vllm", limits__gpu_memory_fraction=0.5), H200_REPORT)
    assert lower["vram"].details["kv_tokens"] < 0.6 * vllm


def test_the_memory_fraction_setting_reaches_the_planner_for_tgi(make_settings: Make) -> None:
    full = verdicts(make_settings(), H200_REPORT)["vram"].details["kv_tokens"]
    half = verdicts(make_settings(limits__gpu_memory_fraction=0.5), H200_REPORT)["vram"].details["kv_tokens"]
    assert half < 0.6 * full
