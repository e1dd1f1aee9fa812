"""Every rule a deployment's settings must meet before anything starts: TGI's own start-up checks and ours.

`problems(settings)` returns all broken rules at once (each naming the setting, where its value came from,
the value, the rule and a fix); `check(settings)` raises one `ConfigError` holding them. `load_settings` calls
`check`, so every entry point gets validated settings. Rules are plain functions of the settings: no I/O.
The engine's own start-up checks (token limits, flags per version, extra args, drain) come from the engine
(`orchestrator.engines`, e.g. `engines/tgi/rules.py`); `model_rules` and `host_rules` hold those that hold
for every engine (model reference; host, timeouts, secrets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from orchestrator.config.settings import Settings, env_var_for
from orchestrator.config.validation.common import problem, where
from orchestrator.config.validation.engine_rules import ENGINE_RULES
from orchestrator.config.validation.host_rules import HOST_RULES
from orchestrator.config.validation.model_rules import MODEL_RULES
from orchestrator.engines.base import RuleInput
from orchestrator.errors import ConfigError, ConfigProblem

__all__ = ["check", "problems", "rule_input", "warnings"]

Rule = Callable[[Settings], Iterator[ConfigProblem]]


def check(settings: Settings) -> None:
    """Raise `ConfigError` listing every broken rule; return quietly when the settings are sound."""
    found = problems(settings)
    if found:
        raise ConfigError(found)
    settings.mark_validated()


def problems(settings: Settings) -> list[ConfigProblem]:
    """Every broken rule: the model reference, then the engine's own checks, then the host's."""
    found = [broken for rule in MODEL_RULES for broken in rule(settings)]
    found.extend(broken for rule in ENGINE_RULES for broken in rule(settings))
    view = rule_input(settings)
    for engine_rule in settings.serving_engine.rules:
        found.extend(problem(settings, p.path, p.rule, p.fix) for p in engine_rule(view))
    found.extend(broken for rule in HOST_RULES for broken in rule(settings))
    return found


def rule_input(settings: Settings) -> RuleInput:
    """The settings as an engine's rules read them: dotted paths to values, and how to name a setting."""
    return RuleInput(
        values={path: value for path, value, _ in settings.effective()},
        version=settings.engine.version,
        where=where,
        source_of=settings.source_of,
        env_var=env_var_for,
    )


def warnings(settings: Settings) -> list[str]:
    """Legal but risky choices, worth telling the user about (the plan adds its own, e.g. an unknown GPU count)."""
    found: list[str] = []
    host = settings.host
    if host.bind_address in {"0.0.0.0", "::"} and settings.secrets.api_key is None:
        found.append(
            f"the API is published on all interfaces ({host.bind_address}:{host.port}) without an API key: "
            "anyone who can reach this host can use it. Set secrets.api_key (ORCHESTRATOR_SECRETS__API_KEY) "
            "or bind to 127.0.0.1."
        )
    found.extend(settings.serving_engine.warnings(rule_input(settings)))
    return found
