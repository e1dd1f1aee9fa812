"""Where the checks go and for how long a deployment lives: an explicit URL, a named deployment, the settings'
endpoint, or one brought up for the run (`--up`) and taken down afterwards, even when checks fail, if this run
created it.

The deployment side is a small `Deployer` protocol whose default is `orchestrator.deploy.lifecycle`, so the
down-what-you-created promise is tested with a recording deployer and, in the Docker tests, for real.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from orchestrator.errors import ConfigError, ConfigProblem, DeploymentNotFoundError
from orchestrator.smoke.checks import Expectations
from orchestrator.smoke.engines import checks_for, detect_engine
from orchestrator.smoke.http import HttpxSmokeHttp
from orchestrator.smoke.results import SmokeReport
from orchestrator.smoke.runner import DEFAULT_TIMEOUT, run_smoke

if TYPE_CHECKING:
    from orchestrator.config.settings import Settings

__all__ = [
    "CREATED_ACTIONS",
    "Deployer",
    "api_key_from",
    "deployed",
    "expectations_from",
    "module_deployer",
    "smoke",
]


class Deployer(Protocol):
    """The part of `orchestrator.deploy.lifecycle` smoke needs."""

    def up(self, settings: Settings) -> Any: ...

    def down(self, name: str) -> Any: ...

    def endpoint_of(self, name: str) -> str | None: ...


class _ModuleDeployer:
    """`Deployer` over `orchestrator.deploy.lifecycle` (imported lazily: it pulls in the docker SDK)."""

    def __init__(self, progress: Callable[[Any], None] | None = None) -> None:
        self._progress = progress

    def up(self, settings: Settings) -> Any:
        from orchestrator.deploy import lifecycle as deploy

        return deploy.up(settings, progress=self._progress)

    def down(self, name: str) -> Any:
        from orchestrator.deploy import lifecycle as deploy

        return deploy.down(name)

    def endpoint_of(self, name: str) -> str | None:
        from orchestrator.deploy import lifecycle as deploy

        info = deploy.find_deployment(name)
        return None if info is None else str(info.endpoint)


def module_deployer(progress: Callable[[Any], None] | None = None) -> Deployer:
    """The real deployer; `progress` receives `orchestrator.deploy.readiness.ProgressEvent`s during `up`."""
    return _ModuleDeployer(progress)


def expectations_from(
    settings: Settings,
    *,
    model_id: str | None = None,
    max_input_tokens: int | None = None,
    max_total_tokens: int | None = None,
) -> Expectations:
    """What `/info` should say: the settings' model and token limits, each overridden by the value given.

    The overrides are plain expectations about a server (`--expect-*`), not settings: they are not checked
    against TGI's launch rules (a server started with other flags may well report them)."""
    return Expectations(
        model_id=model_id or settings.model.id,
        max_input_tokens=settings.limits.max_input_tokens if max_input_tokens is None else max_input_tokens,
        max_total_tokens=settings.limits.max_total_tokens if max_total_tokens is None else max_total_tokens,
    )


def api_key_from(settings: Settings, env_var: str | None) -> str | None:
    """The API key from `env_var` when named (it must be set), else `secrets.api_key`. Never logged."""
    if env_var:
        value = os.environ.get(env_var)
        if not value:
            raise ConfigError(
                [
                    ConfigProblem(
                        "--api-key-env",
                        "flag --api-key-env",
                        env_var,
                        "names an environment variable that is unset or empty",
                        f"export {env_var}=<key> before running smoke, or drop --api-key-env",
                    )
                ]
            )
        return value
    return settings.secrets.api_key_text()


CREATED_ACTIONS = frozenset({"created", "recreated", "replaced"})
"""`DeploymentInfo.action` values meaning this `up` call started the container (see `orchestrator.deploy.lifecycle.up`).
`unchanged` and `attached` mean a deployment of the same name and settings was already there: it is not ours."""


@contextmanager
def deployed(settings: Settings, deployer: Deployer) -> Iterator[str]:
    """Bring a deployment up, yield its endpoint, and afterwards take down what this run created, whatever
    happened in between (failed checks, Ctrl-C).

    Only a container `up` created is removed: if one with the same name and settings was already running, `up`
    attaches to it and it is left running afterwards (it is someone's server). When `up` itself fails nothing is
    taken down: `deploy.up` removes its own half-started container, and anything else under that name (a
    deployment with different settings, say) was not started by this run."""
    name = settings.host.container_name
    result = deployer.up(settings)
    endpoint = getattr(result, "endpoint", None)
    ours = getattr(result, "action", "") in CREATED_ACTIONS
    try:
        yield str(endpoint) if endpoint else settings.endpoint
    except BaseException as exc:
        if ours:
            try:
                deployer.down(name)
            except Exception as down_exc:
                exc.add_note(f"taking {name!r} down afterwards failed too: {down_exc}")
        raise
    if ours:
        deployer.down(name)


def _url_for_name(name: str, deployer: Deployer) -> str:
    endpoint = deployer.endpoint_of(name)
    if endpoint is None:
        raise DeploymentNotFoundError(
            f"no deployment named {name!r} is running",
            cause="`orchestrator smoke --name` looks the container up by name on the local Docker Engine",
            fix="check `orchestrator status`, start it with `orchestrator up`, or pass --url",
        )
    return endpoint


def smoke(
    settings: Settings,
    *,
    url: str | None = None,
    name: str | None = None,
    up: bool = False,
    expect: Expectations | None = None,
    api_key: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    deployer: Deployer | None = None,
    progress: Callable[[Any], None] | None = None,
    engine: str | None = None,
) -> SmokeReport:
    """Run the engine's checks against the chosen target (see module doc) and return the report; `engine`
    (`tgi`, `vllm`) picks them, else they follow what the endpoint answers as (`engines.detect_engine`)."""
    expect = expect or expectations_from(settings)
    if engine is not None:
        checks_for(engine)  # a bad name fails before anything starts
    if up:
        with deployed(settings, deployer or module_deployer(progress)) as endpoint:
            return _run(endpoint, expect, api_key, timeout, engine)
    if url is None and name is not None:
        url = _url_for_name(name, deployer or module_deployer())
    return _run(url or settings.endpoint, expect, api_key, timeout, engine)


def _run(
    url: str, expect: Expectations, api_key: str | None, timeout: float, engine: str | None
) -> SmokeReport:
    with HttpxSmokeHttp(url, api_key=api_key) as http:
        kind = engine or detect_engine(http, timeout)
        return run_smoke(http, expect, timeout=timeout, checks=checks_for(kind), engine=kind)
