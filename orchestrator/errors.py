"""The package's one exception tree; every error a user can see derives from `OrchestratorError`.

    OrchestratorError
    ├── ConfigError             settings failed validation (CLI exit 2); holds every problem at once
    ├── RuntimeUnavailableError no Docker Engine answers, or it lacks what the plan needs (exit 3)
    ├── DeploymentError         a container failed to start, stalled or exited; carries a diagnosis (exit 4)
    │   └── DeploymentNotFoundError  no deployment of ours has the name asked for (exit 2: a wrong option)
    ├── PullError               `orchestrator pull` could not fetch or verify the weights (exit 8; in
    │                           `orchestrator.weights.errors`, with its subtree: gated, token, not found, ...)
    └── TGIError                raised by the client (see `orchestrator.client.errors` for its subtree)

Each error's message says what was expected, what was found and what to do next. Secrets never enter a message.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "DeploymentError",
    "DeploymentNotFoundError",
    "OrchestratorError",
    "RuntimeUnavailableError",
]


class OrchestratorError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code: int = 1


@dataclass(frozen=True)
class ConfigProblem:
    """One broken setting: which, where its value came from, the value, the rule it breaks and how to fix it."""

    setting: str
    source: str
    value: str
    rule: str
    fix: str

    def __str__(self) -> str:
        return f"{self.setting} = {self.value} (from {self.source}): {self.rule}. Fix: {self.fix}"


class ConfigError(OrchestratorError):
    """Settings are invalid; lists all problems so users fix them in one go."""

    exit_code = 2

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{count} invalid setting{'s' if count != 1 else ''}:\n{lines}")


class RuntimeUnavailableError(OrchestratorError):
    """The container engine cannot run the plan (not running, no NVIDIA runtime, port taken...)."""

    exit_code = 3


class DeploymentError(OrchestratorError):
    """A deployment failed; `cause` and `fix` are plain words, `log_tail` the container's last lines."""

    exit_code = 4

    def __init__(
        self, message: str, *, cause: str = "", fix: str = "", log_tail: list[str] | None = None
    ) -> None:
        self.cause = cause
        self.fix = fix
        self.log_tail = list(log_tail or [])
        super().__init__(message)


class DeploymentNotFoundError(DeploymentError):
    """No deployment of ours has the name asked for: a wrong `--name`, not a failed start."""

    exit_code = 2
