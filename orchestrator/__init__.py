"""tgi-orchestrator: deploy, exercise and load-test TGI serving Mistral 7B Instruct v0.2 AWQ.

The public API is what `__all__` lists; everything else is internal. Names from heavier modules (the client
pulls in httpx2 and tenacity, deployment pulls in docker) are imported on first use, so `import orchestrator`
and `orchestrator --help` stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from orchestrator.errors import (
    ConfigError,
    ConfigProblem,
    DeploymentError,
    OrchestratorError,
    RuntimeUnavailableError,
)

if TYPE_CHECKING:
    from orchestrator.client import (
        GREEDY,
        MISTRAL_MODEL_CARD,
        AsyncTGIClient,
        CallStats,
        GenerateResult,
        RetryBudget,
        RetryPolicy,
        SamplingPreset,
        TGIAuthenticationError,
        TGIClient,
        TGIDeadlineExceededError,
        TGIError,
        TGIGenerationError,
        TGIOverloadedError,
        TGIStreamInterruptedError,
        TGIUnavailableError,
        TGIValidationError,
        TokenEvent,
    )
    from orchestrator.config.loading import load_settings
    from orchestrator.config.settings import Settings
    from orchestrator.deploy.lifecycle import (
        DeploymentInfo,
        DeploymentStatus,
        down,
        find_deployment,
        logs,
        status,
        up,
    )
    from orchestrator.launch.plan import LaunchPlan, build_plan
    from orchestrator.tokens import format_chat, format_prompt, get_tokenizer

_LAZY: dict[str, str] = {
    **dict.fromkeys(
        [
            "GREEDY",
            "MISTRAL_MODEL_CARD",
            "AsyncTGIClient",
            "CallStats",
            "GenerateResult",
            "RetryBudget",
            "RetryPolicy",
            "SamplingPreset",
            "TGIAuthenticationError",
            "TGIClient",
            "TGIDeadlineExceededError",
            "TGIError",
            "TGIGenerationError",
            "TGIOverloadedError",
            "TGIStreamInterruptedError",
            "TGIUnavailableError",
            "TGIValidationError",
            "TokenEvent",
        ],
        "orchestrator.client",
    ),
    **dict.fromkeys(
        ["DeploymentInfo", "DeploymentStatus", "down", "find_deployment", "logs", "status", "up"],
        "orchestrator.deploy.lifecycle",
    ),
    **dict.fromkeys(["LaunchPlan", "build_plan"], "orchestrator.launch.plan"),
    **dict.fromkeys(["Settings"], "orchestrator.config.settings"),
    **dict.fromkeys(["load_settings"], "orchestrator.config.loading"),
    **dict.fromkeys(["format_chat", "format_prompt", "get_tokenizer"], "orchestrator.tokens"),
}

__all__ = [
    "GREEDY",
    "MISTRAL_MODEL_CARD",
    "AsyncTGIClient",
    "CallStats",
    "ConfigError",
    "ConfigProblem",
    "DeploymentError",
    "DeploymentInfo",
    "DeploymentStatus",
    "GenerateResult",
    "LaunchPlan",
    "OrchestratorError",
    "RetryBudget",
    "RetryPolicy",
    "RuntimeUnavailableError",
    "SamplingPreset",
    "Settings",
    "TGIAuthenticationError",
    "TGIClient",
    "TGIDeadlineExceededError",
    "TGIError",
    "TGIGenerationError",
    "TGIOverloadedError",
    "TGIStreamInterruptedError",
    "TGIUnavailableError",
    "TGIValidationError",
    "TokenEvent",
    "build_plan",
    "down",
    "find_deployment",
    "format_chat",
    "format_prompt",
    "get_tokenizer",
    "load_settings",
    "logs",
    "status",
    "up",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
