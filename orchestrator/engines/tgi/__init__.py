"""Hugging Face TGI (`text-generation-launcher`, releases 1.1.0 to 3.3.7) as an `Engine`.

The facts live in the modules beside this one (versions, launcher flags, launch, rules, log lines, diagnosis);
this face assembles them into the one record the rest of the orchestrator uses.
"""

from __future__ import annotations

from orchestrator.engines.base import Engine, ProbeRequest, Routes
from orchestrator.engines.tgi import (
    diagnosis,
    hardware,
    launch,
    launcher_flags,
    log_lines,
    metrics,
    routes,
    rules,
    versions,
)

__all__ = ["DEFAULT_IMAGE", "DEFAULT_VERSION", "ENGINE"]

DEFAULT_VERSION = rules.DEFAULT_VERSION
DEFAULT_IMAGE = f"{rules.IMAGE_REPOSITORY}:{DEFAULT_VERSION}"

ENGINE = Engine(
    kind="tgi",
    name="TGI",
    default_image=DEFAULT_IMAGE,
    container_port=launch.CONTAINER_PORT,
    drain_seconds=rules.DRAIN_SECONDS,
    routes=Routes(
        health=routes.HEALTH,
        metrics=routes.METRICS,
        chat=routes.CHAT,
        completions=routes.COMPLETIONS,
        info=routes.INFO,
        generate=routes.GENERATE,
        generate_stream=routes.GENERATE_STREAM,
    ),
    readiness_probe=ProbeRequest(
        "POST", routes.GENERATE, {"inputs": "Hello", "parameters": {"max_new_tokens": 1}}
    ),
    status_metrics=metrics.STATUS,
    server_metrics=metrics.SERVER,
    owned_flags=launcher_flags.OWNED_FLAGS,
    secret_flags=launcher_flags.SECRET_FLAGS,
    parse_version=versions.parse_version,
    format_version=versions.format_version,
    oldest_supported=versions.OLDEST_SUPPORTED,
    launch=launch.launch,
    rules=rules.RULES,
    warnings=rules.warnings,
    owned_flag_in=launcher_flags.owned_flag_in,
    mask_secret_args=launcher_flags.mask_secret_args,
    drain_in_args=launcher_flags.graceful_timeout_in,
    phase_of_line=log_lines.phase_of_line,
    is_serving_line=log_lines.is_connected_line,
    is_useful_line=log_lines.is_useful_line,
    tidy_line=log_lines.tidy_line,
    diagnose=diagnosis.diagnose,
    hardware=hardware.HARDWARE,
    concurrency_limit=launch.concurrency_limit,
)
