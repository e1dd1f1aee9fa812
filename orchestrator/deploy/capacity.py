"""`orchestrator plan`: the capacity planner fed from the settings, the engine's facts and the GPUs NVML reports.

The formulas are pure (`orchestrator.gpu.capacity`); this module only gathers their inputs: the weights size
(the weights lock when one exists, else the model facts), the memory fraction (`limits.gpu_memory_fraction`),
the KV-cache dtype the extra args set, and the shard count the launch plan passes for the selected GPUs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from orchestrator.gpu.capacity import CapacityInputs, CapacityPlan, plan_capacity
from orchestrator.gpu.model_facts import model_facts_for
from orchestrator.gpu.selection import Selected, select_gpus
from orchestrator.gpu.values import GpuReport
from orchestrator.launch.labels import label

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.launch.plan import LaunchPlan

__all__ = [
    "PREDICTED_KV_LABEL",
    "WEIGHTS_FROM_LOCK",
    "PlanReport",
    "capacity_inputs",
    "nvml_gpu_count",
    "plan_report",
    "predicted_kv_tokens",
    "weights_size",
    "with_predicted_capacity",
]

PREDICTED_KV_LABEL = label("kv-tokens-predicted")
"""The planner's KV-cache token capacity at `up` time, on the container, for `status` to compare."""


def _no_lock(settings: Settings) -> int | None:
    return None


WEIGHTS_FROM_LOCK: list[Callable[[Settings], int | None]] = [_no_lock]
"""The seam for the weights lock (issue 13): a reader returning the locked files' total bytes for these settings,
or None where no lock exists. The lock's module appends its reader here; the first answer wins."""


def weights_size(settings: Settings) -> tuple[int, str] | None:
    """(bytes, where from) of the served model's weights: the lock, else the model facts, else None (unknown)."""
    for reader in WEIGHTS_FROM_LOCK:
        locked = reader(settings)
        if locked is not None:
            return locked, "weights lock"
    facts = model_facts_for(settings.model.id)
    return (facts.weights_bytes, "model facts") if facts else None


def capacity_inputs(settings: Settings, num_shard: int) -> tuple[CapacityInputs | None, list[str]]:
    """The planner's inputs for `settings`, or None and why (an unknown model, an engine without facts)."""
    engine = settings.serving_engine
    version = settings.engine.version
    hardware = engine.hardware.facts_for(version) if version else None
    model = model_facts_for(settings.model.id)
    size = weights_size(settings)
    notes: list[str] = []
    if hardware is None:
        notes.append(f"{engine.name} states no hardware facts for this version: capacity not computed")
    if model is None or size is None:
        notes.append(
            f"model.id = {settings.model.id!r} has no recorded architecture (only "
            "TheBloke/Mistral-7B-Instruct-v0.2-AWQ does): capacity not computed"
        )
    if hardware is None or model is None or size is None:
        return None, notes
    args = settings.engine.extra_args
    fraction = settings.limits.gpu_memory_fraction
    kv_dtype = engine.hardware.kv_cache_dtype_in_args(args)
    sizes = dict(engine.hardware.kv_dtype_bytes)
    if kv_dtype is not None and kv_dtype not in sizes:
        notes.append(f"KV-cache dtype {kv_dtype!r} is not one {engine.name} names: sized as 2 bytes")
    inputs = CapacityInputs(
        model=model,
        weights_bytes=size[0],
        weights_source=size[1],
        hardware=hardware,
        memory_fraction=fraction if fraction is not None else hardware.default_memory_fraction,
        kv_dtype=kv_dtype or "float16",
        kv_element_bytes=sizes.get(kv_dtype, 2) if kv_dtype else 2,
        max_total_tokens=settings.limits.max_total_tokens,
        max_batch_prefill_tokens=settings.limits.max_batch_prefill_tokens,
        num_shard=num_shard,
        shard_explicit=settings.host.num_shard is not None,
    )
    return inputs, notes


@dataclass(frozen=True)
class PlanReport:
    """What `orchestrator plan` prints: the GPUs, the shard count `up` passes, and the capacity plan if known."""

    report: GpuReport
    selected: Selected
    num_shard: int
    capacity: CapacityPlan | None
    notes: list[str] = field(default_factory=list)
    inputs: CapacityInputs | None = None

    @property
    def kv_tokens(self) -> int | None:
        """The predicted KV-cache token capacity of the configured server (None: not computed)."""
        return self.capacity.kv_tokens if self.capacity else None

    def to_json(self) -> dict[str, Any]:
        return {
            "nvml": self.report.to_json(),
            "selected_gpus": [gpu.index for gpu in self.selected.gpus],
            "unknown_gpus": list(self.selected.unknown),
            "num_shard": self.num_shard,
            "model": _model_json(self.inputs),
            "capacity": self.capacity.to_json() if self.capacity else None,
            "notes": self.notes,
        }


def plan_report(settings: Settings, report: GpuReport) -> PlanReport:
    """The plan for `settings` on the GPUs of `report` (read them with `orchestrator.gpu.nvml.read_gpus`)."""
    from orchestrator.launch.plan import build_plan

    selected = select_gpus(report, settings.host.gpu_selection)
    count = len(selected.gpus) if report.available else None
    launch = build_plan(settings, gpu_count=count)
    num_shard = launch.num_shard or 1
    notes = list(launch.warnings)
    if not report.available:
        notes.append(f"GPUs not read: {report.error}")
    elif settings.host.gpu_selection.kind == "none":
        notes.append("host.gpus = 'none': no GPU is given to the container (the emulator image)")
    inputs, why = capacity_inputs(settings, num_shard)
    notes.extend(why)
    capacity = plan_capacity(selected.gpus, inputs) if inputs and selected.gpus else None
    return PlanReport(report, selected, num_shard, capacity, notes, inputs)


def _model_json(inputs: CapacityInputs | None) -> dict[str, Any] | None:
    """The GPU-independent figures (shown even without a GPU)."""
    if inputs is None:
        return None
    return {
        "id": inputs.model.model_id,
        "weights_bytes": inputs.weights_bytes,
        "weights_source": inputs.weights_source,
        "kv_cache_dtype": inputs.kv_dtype,
        "kv_bytes_per_token": inputs.kv_bytes_per_token,
        "full_sequence_kv_bytes": inputs.kv_bytes_per_token * inputs.max_total_tokens,
        "prefill_activation_bytes_per_token": inputs.model.prefill_activation_bytes_per_token(),
    }


def nvml_gpu_count(settings: Settings, report: GpuReport | None, fallback: int | None) -> int | None:
    """The selected GPUs NVML counts (what `--num-shard` follows for `host.gpus = all`), else `fallback`."""
    if report is None or not report.available:
        return fallback
    return len(select_gpus(report, settings.host.gpu_selection).gpus)


def predicted_kv_tokens(settings: Settings, report: GpuReport | None) -> int | None:
    """The planner's KV-cache capacity for `settings` on the GPUs of `report` (None: not computed)."""
    if report is None or not report.available:
        return None
    return plan_report(settings, report).kv_tokens


def with_predicted_capacity(plan: LaunchPlan, settings: Settings, report: GpuReport | None) -> LaunchPlan:
    """`plan` with the predicted KV capacity as a label (labels stay out of the settings hash)."""
    tokens = predicted_kv_tokens(settings, report)
    if tokens is None:
        return plan
    return replace(plan, labels={**plan.labels, PREDICTED_KV_LABEL: str(tokens)})
