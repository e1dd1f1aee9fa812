"""tgi-orchestrator: deploy, exercise and load-test TGI serving Mistral 7B Instruct v0.2 AWQ.

The public API is what `__all__` lists; everything else is internal.
"""

from __future__ import annotations

from orchestrator.errors import (
    ConfigError,
    ConfigProblem,
    DeploymentError,
    OrchestratorError,
    RuntimeUnavailableError,
)

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "DeploymentError",
    "OrchestratorError",
    "RuntimeUnavailableError",
]

__version__ = "0.1.0"
