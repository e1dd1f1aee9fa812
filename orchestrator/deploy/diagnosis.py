"""Why a start-up failed, in words: a `StartupFailure` from the wait becomes a `DeploymentError` with cause and fix.

The known causes come from the engine (`Engine.diagnose`: pure rules over its log lines), told the settings
that matter (limits, port, image, GPUs) so fixes can name values; otherwise the failure's kind (exited, stalled,
deadline) gives a generic cause and fix. Log lines are redacted before they reach the error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.engines.diagnosis import DiagnosisContext, redact
from orchestrator.errors import DeploymentError

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings
    from orchestrator.deploy.readiness import StartupFailure

__all__ = ["LOG_TAIL_LINES", "deployment_error"]

LOG_TAIL_LINES = 25


def _context(settings: Settings) -> DiagnosisContext:
    limits = settings.limits
    return DiagnosisContext(
        max_batch_prefill_tokens=limits.max_batch_prefill_tokens,
        max_input_tokens=limits.max_input_tokens,
        max_total_tokens=limits.max_total_tokens,
        port=settings.host.port,
        bind_address=settings.host.bind_address,
        image=settings.engine.image,
        shm_size=settings.host.shm_size,
        gpus=settings.host.gpus,
        gpu_memory_fraction=limits.gpu_memory_fraction,
    )


def deployment_error(failure: StartupFailure, settings: Settings) -> DeploymentError:
    """A `StartupFailure` with the known cause and fix found in its log lines."""
    tail = failure.log_tail
    found = settings.serving_engine.diagnose(tail, _context(settings), settings.secrets.values())
    if found is not None:
        cause, fix = found.cause, found.fix
    elif failure.reason == "stalled":
        cause = f"start-up made no progress while {failure.phase.label}"
        fix = "check the log lines below; if the host is just slow, raise the timeouts.stall_* setting named above"
    elif failure.reason == "deadline":
        cause = "start-up did not finish within timeouts.startup_deadline"
        fix = "raise timeouts.startup_deadline if the weights are large or the network slow"
    else:
        cause = f"the container exited (code {failure.exit_code}) without a known error in its logs"
        fix = "read the log lines below; rerun with --keep-failed and inspect with `orchestrator logs`"
    return DeploymentError(
        f"{settings.host.container_name}: {failure} after {failure.elapsed:.1f} s",
        cause=cause,
        fix=fix,
        log_tail=[redact(line, settings.secrets.values()) for line in tail[-LOG_TAIL_LINES:]],
    )
