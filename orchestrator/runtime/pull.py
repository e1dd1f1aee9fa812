"""Pulling an image through the Docker Engine's low-level API, and what a failed pull means.

The SDK reports most pull failures inside the progress stream as dicts, not as exceptions: they are raised here
as `DeploymentError` with a cause and fix (missing tag, unreachable registry). Used by `orchestrator.runtime.containers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import docker.errors
import requests.exceptions

from orchestrator.engines.diagnosis import CONTAINER_RULES, DiagnosisContext, diagnose_with
from orchestrator.errors import DeploymentError, RuntimeUnavailableError
from orchestrator.runtime.values import PullProgress, layer_id, split_image

__all__ = ["pull_error", "pull_image"]


def pull_image(api: Any, image: str, on_progress: Callable[[PullProgress], None] | None = None) -> None:
    """Pull `image` through the low-level `api`, reporting per-layer progress; stream errors raise `DeploymentError`."""
    repository, tag = split_image(image)
    try:
        stream = api.pull(repository, tag=tag, stream=True, decode=True)
        for event in stream:
            if "error" in event or "errorDetail" in event:
                detail = event.get("errorDetail") or {}
                raise pull_error(image, str(event.get("error") or detail.get("message") or event))
            if on_progress is not None:
                progress = event.get("progressDetail") or {}
                on_progress(
                    PullProgress(
                        image=image,
                        layer=layer_id(event.get("id")),
                        status=str(event.get("status", "")),
                        current=progress.get("current"),
                        total=progress.get("total"),
                    )
                )
    except docker.errors.APIError as exc:
        raise pull_error(image, str(exc.explanation or exc)) from exc
    except requests.exceptions.RequestException as exc:
        raise RuntimeUnavailableError(f"the Docker Engine dropped the pull of {image}: {exc}") from exc


def pull_error(image: str, message: str) -> DeploymentError:
    """A failed pull as a `DeploymentError`, with the diagnosed cause and fix when the message is a known one."""
    found = diagnose_with(CONTAINER_RULES, [message], DiagnosisContext(image=image))
    if found is not None and found.key in {"image_not_found", "registry_unreachable"}:
        return DeploymentError(
            f"cannot pull image {image}: {message}", cause=found.cause, fix=found.fix, log_tail=[message]
        )
    return DeploymentError(
        f"cannot pull image {image}: {message}",
        cause=f"the engine failed to pull {image}",
        fix="check engine.image, the registry and the network; `docker pull` shows the same error",
        log_tail=[message],
    )
