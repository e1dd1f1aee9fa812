"""vLLM 0.33 (the OpenAI-compatible server of `vllm/vllm-openai`) behind the engine seam [vllm-server.md].

The facts live in the modules beside this one (versions, flags, launch, chat template, rules, what has no
equivalent, log lines, diagnosis, routes, metrics); this face assembles them into the one `Engine` record.
"""

from __future__ import annotations

from orchestrator.engines.base import Engine, ProbeRequest, Routes
from orchestrator.engines.vllm import (
    diagnosis,
    equivalents,
    flags,
    hardware,
    launch,
    log_lines,
    metrics,
    routes,
    rules,
    versions,
)

__all__ = ["DEFAULT_IMAGE", "DEFAULT_VERSION", "ENGINE"]

DEFAULT_VERSION = versions.DEFAULT_VERSION
DEFAULT_IMAGE = f"{versions.IMAGE_REPOSITORY}:{DEFAULT_VERSION}"

ENGINE = Engine(
    kind="vllm",
    name="vLLM",
    default_image=DEFAULT_IMAGE,
    container_port=launch.CONTAINER_PORT,
    drain_seconds=rules.DRAIN_SECONDS,
    routes=Routes(
        health=routes.HEALTH,
        metrics=routes.METRICS,
        chat=routes.CHAT,
        completions=routes.COMPLETIONS,
        info=None,
        generate=None,
        generate_stream=None,
    ),
    # `model` omitted: vLLM uses the served model [§5]; one token proves the engine core generates.
    readiness_probe=ProbeRequest("POST", routes.COMPLETIONS, {"prompt": "Hello", "max_tokens": 1}),
    status_metrics=metrics.STATUS,
    server_metrics=metrics.SERVER,
    owned_flags=flags.OWNED_FLAGS,
    secret_flags=flags.SECRET_FLAGS,
    parse_version=versions.parse_version,
    format_version=versions.format_version,
    oldest_supported=versions.OLDEST_SUPPORTED,
    launch=launch.launch,
    rules=rules.RULES,
    warnings=equivalents.warnings,
    owned_flag_in=flags.owned_flag_in,
    mask_secret_args=flags.mask_secret_args,
    drain_in_args=flags.shutdown_timeout_in,
    phase_of_line=log_lines.phase_of_line,
    is_serving_line=log_lines.is_serving_line,
    is_useful_line=log_lines.is_useful_line,
    tidy_line=log_lines.tidy_line,
    diagnose=diagnosis.diagnose,
    silent_download=True,
    hardware=hardware.HARDWARE,
)
