"""The doctor's GPU checks: pure functions of the NVML readings, the engine's hardware facts and the plan.

Rules and their sources are in docs/doctor.md; the engine facts (`Engine.hardware`) say what each engine
version needs, so nothing here knows TGI or vLLM.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from orchestrator.deploy.verdicts import Verdict, fail, ok, warn
from orchestrator.gpu.nvml import NO_PACKAGE

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.deploy.capacity import PlanReport
    from orchestrator.engines.base import HardwareFacts
    from orchestrator.gpu.capacity import CapacityPlan
    from orchestrator.gpu.values import GpuInfo

__all__ = ["CUDA_COMPATIBILITY", "gpu_verdicts"]

GIB = 1 << 30
CUDA_COMPATIBILITY = "https://docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html"
_NO_GPU_FIX = (
    "install the NVIDIA driver (check with `nvidia-smi`), or run without GPUs: --gpus none "
    "(ORCHESTRATOR_HOST__GPUS=none) with the emulator image"
)
_OLDER_GPU_USED = "used by processes NVML does not list (another container, or the driver itself)"


def _gib(value: int) -> str:
    return f"{value / GIB:.1f} GiB"


def _version(value: tuple[int, int]) -> str:
    return f"{value[0]}.{value[1]}"


def gpu_verdicts(settings: Settings, plan: PlanReport, *, remote: bool = False) -> Iterator[Verdict]:
    """Driver, selection, compute capability, MIG, driver CUDA, other processes, VRAM and warm-up, in order."""
    if settings.host.gpu_selection.kind == "none":
        yield ok("gpu", "host.gpus = 'none': no GPU asked for, GPU checks not needed")
        return
    if remote:
        yield warn(
            "gpu",
            "the Docker Engine is on another host: its GPUs cannot be read from here",
            cause="NVML reads only this machine's GPUs",
            fix="run `orchestrator doctor` on the engine's host",
        )
        return
    report = plan.report
    if not report.available:
        error = report.error or "NVML gave no answer"
        if error == NO_PACKAGE:
            yield warn("gpu-driver", "GPUs not checked", cause=error, fix="pip install nvidia-ml-py")
        else:
            yield fail("gpu-driver", "no NVIDIA driver", cause=error, fix=_NO_GPU_FIX)
        return
    yield ok(
        "gpu-driver",
        f"driver {report.driver_version}, CUDA {report.cuda_text}, {len(report.gpus)} GPU(s)",
        driver_version=report.driver_version,
        cuda_version=report.cuda_text,
    )
    selected = plan.selected
    if selected.unknown or not selected.gpus:
        known = ", ".join(f"{g.index} ({g.uuid})" for g in report.gpus) or "none"
        yield fail(
            "gpu-selection",
            f"host.gpus = {settings.host.gpus!r} selects no GPU of this host"
            if not selected.unknown
            else f"host.gpus names GPUs this host does not have: {', '.join(selected.unknown)}",
            cause=f"the host's GPUs: {known}",
            fix="choose indices or UUIDs from `nvidia-smi -L` with --gpus (ORCHESTRATOR_HOST__GPUS)",
        )
        return
    yield ok("gpu-selection", "selected: " + ", ".join(f"{g.index} {g.name}" for g in selected.gpus))
    version = settings.engine.version
    engine = settings.serving_engine
    hardware = engine.hardware.facts_for(version) if version else None
    if hardware is None:
        yield warn(
            "gpu-needs",
            f"{engine.name} states no hardware needs for this version: compute capability and CUDA not checked",
        )
    else:
        for gpu in selected.gpus:
            yield _compute(gpu, hardware, engine.name)
        yield _driver_cuda(report.cuda_version, hardware, engine.name)
    yield from (_mig(gpu) for gpu in selected.gpus)
    yield from (_others(gpu) for gpu in selected.gpus)
    yield from _memory(settings, plan)


def _compute(gpu: GpuInfo, hardware: HardwareFacts, engine: str) -> Verdict:
    check = f"compute-capability[{gpu.index}]"
    need = hardware.min_compute_capability
    if gpu.compute_capability < need:
        return fail(
            check,
            f"GPU {gpu.index} {gpu.name} has compute capability {gpu.compute_text}, below the {_version(need)} "
            f"{engine} needs for this model",
            cause=hardware.compute_rule,
            fix=f"use a GPU with compute capability {_version(need)} or newer (A10G, L4, A100, H100, H200), "
            "or an engine whose kernels run on this one",
        )
    built = hardware.built_for
    if built is not None and gpu.compute_capability[0] > built[0]:
        return warn(
            check,
            f"GPU {gpu.index} {gpu.name} ({gpu.compute_text}) is newer than the {_version(built)} the image's "
            "kernels are built for",
            cause="kernels built for an older architecture may not load on this one",
            fix="use an image built for this GPU generation if the start fails",
        )
    return ok(
        check, f"GPU {gpu.index} {gpu.name}: compute capability {gpu.compute_text} (needs {_version(need)}+)"
    )


def _driver_cuda(cuda: tuple[int, int] | None, hardware: HardwareFacts, engine: str) -> Verdict:
    image = hardware.image_cuda
    if image is None or cuda is None:
        return warn(
            "driver-cuda", f"not checked: the {'image' if image is None else 'driver'} CUDA is unknown"
        )
    summary = f"driver supports CUDA {_version(cuda)}, the image is built for CUDA {_version(image)}"
    if cuda >= image:
        return ok("driver-cuda", summary + " (newer drivers run older CUDA builds)")
    minimum = hardware.min_driver_cuda or (image[0], 0)
    if cuda[0] == image[0] and cuda >= minimum:
        return warn(
            "driver-cuda",
            summary + f": it runs through CUDA minor-version compatibility ({engine} documents CUDA "
            f"{_version(minimum)}+)",
            cause=f"a driver older than the toolkit runs it with a limited feature set ({CUDA_COMPATIBILITY}); "
            f"the NVIDIA Container Toolkit may refuse the image's `NVIDIA_REQUIRE_CUDA=cuda>={_version(image)}`",
            fix=f"update the NVIDIA driver to one supporting CUDA {_version(image)} or newer",
        )
    return fail(
        "driver-cuda",
        summary,
        cause=f"the driver is older than CUDA {_version(minimum)}, the oldest {engine} documents for this image; "
        "minor-version compatibility only covers drivers of the same CUDA major release, from its minimum "
        f"driver on ({CUDA_COMPATIBILITY}); the container would fail with `nvidia-container-cli: requirement "
        f"error: unsatisfied condition: cuda>={_version(image)}`",
        fix=f"update the NVIDIA driver to one supporting CUDA {_version(image)} or newer (`nvidia-smi` shows it), "
        "or, on a data-centre GPU, install the CUDA forward-compatibility package (cuda-compat)",
    )


def _mig(gpu: GpuInfo) -> Verdict:
    check = f"mig[{gpu.index}]"
    if gpu.mig_enabled:
        return fail(
            check,
            f"GPU {gpu.index} {gpu.name} is in MIG mode",
            cause="with MIG on, CUDA runs only inside MIG instances, and host.gpus selects whole GPUs; the "
            "memory figures of the whole GPU do not apply to an instance",
            fix=f"turn MIG off (`sudo nvidia-smi -i {gpu.index} -mig 0`, then reset the GPU) or choose another GPU",
        )
    return ok(check, f"GPU {gpu.index}: MIG {'off' if gpu.mig_enabled is False else 'not supported'}")


def _others(gpu: GpuInfo) -> Verdict:
    check = f"gpu-memory-in-use[{gpu.index}]"
    used = gpu.memory_total - gpu.memory_free
    if gpu.processes:
        held = ", ".join(
            f"pid {p.pid}" + (f" ({_gib(p.used_bytes)})" if p.used_bytes else "") for p in gpu.processes
        )
        return warn(
            check,
            f"GPU {gpu.index}: {_gib(used)} already in use by {held}",
            cause="memory other processes hold is lost to the KV cache (the plan counts only what is free now)",
            fix="stop those processes, or choose another GPU with --gpus",
            used_bytes=used,
        )
    if used > 2 * GIB:
        return warn(
            check,
            f"GPU {gpu.index}: {_gib(used)} in use, {_OLDER_GPU_USED}",
            cause="memory in use now is lost to the KV cache",
            fix="find the holder with `nvidia-smi`; stop it or choose another GPU",
            used_bytes=used,
        )
    return ok(check, f"GPU {gpu.index}: {_gib(gpu.memory_free)} free of {_gib(gpu.memory_total)}")


def _memory(settings: Settings, plan: PlanReport) -> Iterator[Verdict]:
    capacity = plan.capacity
    if capacity is None:
        yield warn("vram", "capacity not computed", cause="; ".join(plan.notes) or "no plan")
        return
    limits = settings.limits
    prefill = limits.max_batch_prefill_tokens
    for shard in capacity.shards:
        check = f"warmup[{shard.gpu_index}]"
        need = shard.weights_bytes + shard.overhead_bytes + shard.prefill_bytes
        if not shard.budget_fits:
            yield fail(
                check,
                f"GPU {shard.gpu_index}: less memory is free than the engine's budget",
                cause=f"the engine budgets {capacity.inputs.memory_fraction:g} of the GPU's memory and refuses to "
                "start when that much is not free",
                fix=f"lower {capacity.inputs.hardware.memory_fraction_flag} or free the GPU",
            )
        elif not shard.warmup_fits:
            yield fail(
                check,
                f"GPU {shard.gpu_index}: the warm-up prefill of max_batch_prefill_tokens = {prefill} runs out of "
                f"memory (needs {_gib(need)} with the weights)",
                cause="the engine runs one prefill of max_batch_prefill_tokens at warm-up, before it sizes the "
                "KV cache",
                fix=f"lower limits.max_batch_prefill_tokens (--max-batch-prefill-tokens) to at most "
                f"{shard.largest_safe_prefill}, or free GPU memory",
                largest_safe_prefill_tokens=shard.largest_safe_prefill,
            )
        else:
            yield ok(
                check,
                f"GPU {shard.gpu_index}: warm-up prefill of {prefill} tokens fits ({_gib(need)} with the weights; "
                f"largest safe {shard.largest_safe_prefill})",
            )
    tokens = capacity.kv_tokens or 0
    floor = max(limits.max_total_tokens, prefill)
    summary = (
        f"KV cache for about {tokens:,} tokens = {capacity.full_sequences} full {limits.max_total_tokens}-token "
        f"sequences at once ({capacity.inputs.kv_bytes_per_token // 1024} KiB per token, "
        f"{capacity.inputs.kv_dtype})"
    )
    if tokens < floor:
        yield fail(
            "vram",
            summary,
            cause=f"the engine needs KV room for max_total_tokens = {limits.max_total_tokens} and "
            f"max_batch_prefill_tokens = {prefill} and refuses to start with less",
            fix="lower limits.max_total_tokens / max_batch_prefill_tokens, use an fp8 KV cache "
            "(--kv-cache-dtype in engine.extra_args), free GPU memory or use a larger GPU",
            kv_tokens=tokens,
        )
    else:
        yield ok("vram", summary, kv_tokens=tokens, full_length_sequences=capacity.full_sequences)
    yield _layout(capacity)


def _layout(capacity: CapacityPlan) -> Verdict:
    """Implicit N-way sharding where N one-shard replicas would serve more: a warning with the way out."""
    layout = capacity.layout
    if layout.num_shard > 1 and layout.shards_per_replica == 1 and not capacity.inputs.shard_explicit:
        total = sum(s.kv_tokens for s in capacity.replicas)
        return warn(
            "layout",
            f"{layout.num_shard} GPUs become one {layout.num_shard}-way sharded server",
            cause=layout.reason,
            fix=f"run {layout.replicas} one-shard replicas, one GPU each (host.gpus=<index>, about {total:,} KV "
            "tokens in all), or set host.num_shard to keep the sharded server",
        )
    return ok(
        "layout",
        f"{layout.replicas} replica(s) x {layout.shards_per_replica} shard(s) of {layout.gpus} GPU(s)",
    )
