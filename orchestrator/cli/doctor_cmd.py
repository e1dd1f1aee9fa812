"""`orchestrator doctor` and `orchestrator plan`: parse, call `orchestrator.deploy.doctor` / `.capacity`, print.

No `from __future__ import annotations` here: typer must see the real `Annotated` options.
Exit codes: doctor 0 when nothing failed, 3 when a check failed (as `up`'s preflight); plan 0.
"""

import json
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.cli.options import settings_command

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.deploy.capacity import PlanReport

__all__ = ["plan_lines", "register"]

_JSON = Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON).")]
_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
GIB = 1 << 30


def doctor_cmd(*, settings: "Settings", as_json: _JSON = False) -> None:
    """Check this host before `up`: Docker, NVIDIA runtime, GPUs (compute capability, driver CUDA, MIG, memory),
    VRAM for the weights and KV cache, warm-up, /dev/shm, disk, port, cache directory. Exit 3 on any fail."""
    from orchestrator.deploy.doctor import run_doctor

    report = run_doctor(settings)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for verdict in report.verdicts:
            text = verdict.describe()
            print(f"[{_MARK[verdict.status]}] {text}")
        counts = report.to_json()["counts"]
        print(f"\n{counts['ok']} ok, {counts['warn']} warnings, {counts['fail']} failed")
    if report.exit_code:
        raise typer.Exit(code=report.exit_code)


def plan_lines(plan: "PlanReport") -> list[str]:
    """The plan for people (also used by tests)."""
    data = plan.to_json()
    lines = []
    model = data["model"]
    if model:
        lines.append(
            f"model {model['id']}: weights {model['weights_bytes'] / 1e9:.2f} GB ({model['weights_source']}), "
            f"KV {model['kv_bytes_per_token'] // 1024} KiB per token ({model['kv_cache_dtype']}), "
            f"{model['full_sequence_kv_bytes'] / GIB:.2f} GiB per full sequence"
        )
    for gpu in plan.selected.gpus:
        lines.append(
            f"GPU {gpu.index} {gpu.name}: cc {gpu.compute_text}, {gpu.memory_free / GIB:.1f} GiB free of "
            f"{gpu.memory_total / GIB:.1f} GiB"
        )
    lines.append(f"--num-shard {plan.num_shard}")
    capacity = plan.capacity
    if capacity is not None:
        layout = capacity.layout
        lines.append(
            f"KV-cache capacity: about {capacity.kv_tokens:,} tokens = {capacity.full_sequences} full "
            f"{capacity.inputs.max_total_tokens}-token sequences at once "
            f"({capacity.inputs.hardware.memory_fraction_flag} {capacity.inputs.memory_fraction:g})"
        )
        for shard in capacity.shards:
            lines.append(
                f"  shard on GPU {shard.gpu_index}: weights {shard.weights_bytes / GIB:.2f} GiB, warm-up "
                f"{shard.prefill_bytes / GIB:.2f} GiB, overhead {shard.overhead_bytes / GIB:.2f} GiB, "
                f"reserved {shard.reserved_bytes / GIB:.2f} GiB, KV {shard.kv_bytes / GIB:.2f} GiB"
            )
        lines.append(
            f"layout: {layout.replicas} replica(s) x {layout.shards_per_replica} shard(s) recommended: {layout.reason}"
        )
    lines.extend(f"note: {note}" for note in plan.notes)
    return lines


def plan_cmd(*, settings: "Settings", as_json: _JSON = False) -> None:
    """Predict what the selected GPUs hold: weights, KV bytes per token, the KV-cache token capacity the engine
    will infer at its memory fraction, full-length sequences at once, warm-up headroom, and the shard/replica
    layout (N GPUs: N one-shard replicas unless host.num_shard says otherwise). Formulas: docs/doctor.md."""
    from orchestrator.deploy.doctor import plan_for_host

    plan = plan_for_host(settings)
    if as_json:
        print(json.dumps(plan.to_json(), indent=2))
        return
    print("\n".join(plan_lines(plan)))


def register(app: typer.Typer) -> None:
    """Add `doctor` and `plan` to `app`."""
    app.command("doctor")(settings_command(doctor_cmd))
    app.command("plan")(settings_command(plan_cmd))
