"""Every rule a deployment's settings must meet before anything starts: TGI's own start-up checks and ours.

`problems(settings)` returns all broken rules at once (each naming the setting, where its value came from,
the value, the rule and a fix); `check(settings)` raises one `ConfigError` holding them. `load_settings` calls
`check`, so every entry point gets validated settings. Rules are plain functions of the settings: no I/O.
TGI's checks are from `shared/reference/tgi-server.md` §3 (token limits) and §2 (flags per version);
`model_rules` holds those on model, limits and version, `host_rules` those on the host, extra args and secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from orchestrator.config.settings import TGI_DRAIN_SECONDS, Settings
from orchestrator.config.validation.host_rules import HOST_RULES
from orchestrator.config.validation.model_rules import MODEL_RULES
from orchestrator.engines.tgi.versions import facts_for, format_version
from orchestrator.errors import ConfigError, ConfigProblem

__all__ = ["TGI_DRAIN_SECONDS", "check", "problems", "warnings"]

Rule = Callable[[Settings], Iterator[ConfigProblem]]
_RULES: tuple[Rule, ...] = (*MODEL_RULES, *HOST_RULES)


def check(settings: Settings) -> None:
    """Raise `ConfigError` listing every broken rule; return quietly when the settings are sound."""
    found = problems(settings)
    if found:
        raise ConfigError(found)


def problems(settings: Settings) -> list[ConfigProblem]:
    """Every broken rule, in settings order."""
    return [problem for rule in _RULES for problem in rule(settings)]


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
    version = settings.engine.version
    if version is not None and not facts_for(version).forwards_sigterm:
        found.append(
            f"TGI {format_version(version)} runs bash as PID 1 without exec (fixed in 2.4.0): `docker stop` cannot "
            "reach the launcher, so in-flight requests are not drained and the container is killed after "
            f"timeouts.stop_grace ({settings.timeouts.stop_grace:g} s). Prefer TGI 2.4.0 or newer."
        )
    model = settings.model
    if model.dtype and not model.quantize and "awq" in model.id.lower():
        found.append(
            f"model.dtype={model.dtype} with an AWQ-looking model and no quantize: TGI 2.0+ detects AWQ from the "
            "checkpoint and its shard aborts on --dtype (AWQ runs float16). Unset model.dtype."
        )
    if host.gpus.strip().lower() == "none":
        found.append(
            "no GPU is requested (host.gpus=none): real TGI needs an NVIDIA GPU for this model; only the "
            "emulator image runs without one."
        )
    return found
