"""tgi-orchestrator: deploy, exercise and load-test TGI serving Mistral 7B Instruct v0.2 AWQ.

The public API is what `__all__` lists; everything else is internal. Names from heavier modules (the client
pulls in httpx2 and tenacity, deployment pulls in docker) are imported on first use, so `import orchestrator`
and `orchestrator --help` stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from orchestrator.errors import ConfigError as ConfigError
from orchestrator.errors import ConfigProblem as ConfigProblem
from orchestrator.errors import DeploymentError as DeploymentError
from orchestrator.errors import OrchestratorError as OrchestratorError
from orchestrator.errors import RuntimeUnavailableError as RuntimeUnavailableError

if TYPE_CHECKING:
    from orchestrator.client import GREEDY as GREEDY
    from orchestrator.client import MISTRAL_MODEL_CARD as MISTRAL_MODEL_CARD
    from orchestrator.client import AsyncClient as AsyncClient
    from orchestrator.client import AsyncTGIClient as AsyncTGIClient
    from orchestrator.client import CallStats as CallStats
    from orchestrator.client import Client as Client
    from orchestrator.client import GenerateResult as GenerateResult
    from orchestrator.client import RetryBudget as RetryBudget
    from orchestrator.client import RetryPolicy as RetryPolicy
    from orchestrator.client import SamplingPreset as SamplingPreset
    from orchestrator.client import TGIAuthenticationError as TGIAuthenticationError
    from orchestrator.client import TGIClient as TGIClient
    from orchestrator.client import TGIDeadlineExceededError as TGIDeadlineExceededError
    from orchestrator.client import TGIError as TGIError
    from orchestrator.client import TGIGenerationError as TGIGenerationError
    from orchestrator.client import TGIOverloadedError as TGIOverloadedError
    from orchestrator.client import TGIStreamInterruptedError as TGIStreamInterruptedError
    from orchestrator.client import TGIUnavailableError as TGIUnavailableError
    from orchestrator.client import TGIValidationError as TGIValidationError
    from orchestrator.client import TokenEvent as TokenEvent
    from orchestrator.config.loading import load_settings as load_settings
    from orchestrator.config.settings import Settings as Settings
    from orchestrator.deploy.capacity import PlanReport as PlanReport
    from orchestrator.deploy.doctor import plan_for_host as plan_for_host
    from orchestrator.deploy.doctor import run_doctor as run_doctor
    from orchestrator.deploy.lifecycle import DeploymentInfo as DeploymentInfo
    from orchestrator.deploy.lifecycle import DeploymentStatus as DeploymentStatus
    from orchestrator.deploy.lifecycle import down as down
    from orchestrator.deploy.lifecycle import find_deployment as find_deployment
    from orchestrator.deploy.lifecycle import logs as logs
    from orchestrator.deploy.lifecycle import status as status
    from orchestrator.deploy.lifecycle import up as up
    from orchestrator.deploy.verdicts import DoctorReport as DoctorReport
    from orchestrator.deploy.verdicts import Verdict as Verdict
    from orchestrator.deploy.weights_step import WeightsPolicy as WeightsPolicy
    from orchestrator.launch.plan import LaunchPlan as LaunchPlan
    from orchestrator.launch.plan import build_plan as build_plan
    from orchestrator.lock.errors import CacheIncompleteError as CacheIncompleteError
    from orchestrator.lock.errors import LockDriftError as LockDriftError
    from orchestrator.lock.lockfile import read_lock as read_lock
    from orchestrator.tokens import format_chat as format_chat
    from orchestrator.tokens import format_prompt as format_prompt
    from orchestrator.tokens import get_tokenizer as get_tokenizer
    from orchestrator.weights import PullError as PullError
    from orchestrator.weights import PullEvent as PullEvent
    from orchestrator.weights import PullResult as PullResult
    from orchestrator.weights import pull as pull


_LAZY_FROM: dict[str, tuple[str, ...]] = {
    "orchestrator.client": (
        "GREEDY",
        "MISTRAL_MODEL_CARD",
        "AsyncClient",
        "AsyncTGIClient",
        "CallStats",
        "Client",
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
    ),
    "orchestrator.config.loading": ("load_settings",),
    "orchestrator.config.settings": ("Settings",),
    "orchestrator.deploy.capacity": ("PlanReport",),
    "orchestrator.deploy.doctor": ("plan_for_host", "run_doctor"),
    "orchestrator.deploy.lifecycle": (
        "DeploymentInfo",
        "DeploymentStatus",
        "down",
        "find_deployment",
        "logs",
        "status",
        "up",
    ),
    "orchestrator.deploy.verdicts": ("DoctorReport", "Verdict"),
    "orchestrator.launch.plan": ("LaunchPlan", "build_plan"),
    "orchestrator.deploy.weights_step": ("WeightsPolicy",),
    "orchestrator.lock.errors": ("CacheIncompleteError", "LockDriftError"),
    "orchestrator.lock.lockfile": ("read_lock",),
    "orchestrator.tokens": ("format_chat", "format_prompt", "get_tokenizer"),
    "orchestrator.weights": ("PullError", "PullEvent", "PullResult", "pull"),
}
"""The public names imported on first use, by module: the one list (the `TYPE_CHECKING` imports above mirror
it for type checkers, and tests/test_public_api.py fails when they drift, as huggingface_hub checks its own)."""

_LAZY = {name: module for module, names in _LAZY_FROM.items() for name in names}
_EAGER = ("ConfigError", "ConfigProblem", "DeploymentError", "OrchestratorError", "RuntimeUnavailableError")
__all__ = sorted([*_EAGER, *_LAZY])

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
