"""The one module that talks to the Docker Engine: connect, pull, run a launch plan, find, logs, stop, remove.

Everything else in the package sees plain values (`ContainerInfo`, `EngineFacts`, `PullProgress`, defined with
the pure translations in `orchestrator.runtime.values`) and our error tree; docker SDK exceptions are
translated here, at the boundary (pulls in `orchestrator.runtime.pull`, secret files in
`orchestrator.runtime.secret_files`). Known SDK quirks handled here:
`containers.run` has no `stop_timeout` (we use the low-level `create_container`), errors inside a pull stream
arrive as dicts (we raise them), and a failed start (no NVIDIA runtime, busy port) leaves a `Created` container
(we remove it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import docker
import docker.errors
import docker.types
import requests.exceptions

from orchestrator.engines.diagnosis import CONTAINER_RULES, DiagnosisContext, diagnose_with
from orchestrator.errors import RuntimeUnavailableError
from orchestrator.launch.paths import secrets_dir
from orchestrator.runtime.engine_api import count_local_gpus
from orchestrator.runtime.pull import pull_error, pull_image
from orchestrator.runtime.secret_files import remove_secret_files, write_secret_files
from orchestrator.runtime.values import (
    LABEL_PREFIX,
    MANAGED_LABEL,
    NAME_LABEL,
    ContainerInfo,
    EngineFacts,
    ImageIdentity,
    PullProgress,
    engine_facts,
    exposed_port,
    info_from_attrs,
    nanoseconds,
    parse_docker_time,
    split_lines,
)

if TYPE_CHECKING:
    from orchestrator.launch.plan import LaunchPlan

__all__ = [
    "LABEL_PREFIX",
    "MANAGED_LABEL",
    "ContainerInfo",
    "DockerRuntime",
    "EngineFacts",
    "ImageIdentity",
    "LogStream",
    "PullProgress",
    "connect",
    "parse_docker_time",
    "secrets_dir",
]

_ENGINE_HELP = (
    "start the Docker Engine (`sudo systemctl start docker`, or `dockerd &` where there is no systemd) or "
    "install it (`sudo apt-get install docker.io`, or Docker's own packages); if it listens elsewhere, set "
    "DOCKER_HOST (e.g. unix:///var/run/docker.sock). Check with `docker info`."
)


class LogStream:
    """Followed log lines that another thread may `close()` (it shuts the socket the reader waits on)."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = chunks
        self._closed = False

    def __iter__(self) -> Iterator[str]:
        if self._chunks is None:
            return
        try:
            yield from split_lines(iter(self._chunks))
        except (docker.errors.APIError, requests.exceptions.RequestException, OSError, ValueError) as exc:
            if not self._closed:
                raise RuntimeUnavailableError(f"log stream broke: {exc}") from exc

    def close(self) -> None:
        self._closed = True
        if self._chunks is not None and hasattr(self._chunks, "close"):
            with contextlib.suppress(Exception):
                self._chunks.close()


class DockerRuntime:
    """A connected engine. Methods raise `RuntimeUnavailableError` / `DeploymentError`, never SDK errors."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        # typed Any: types-docker's stubs lag behind the SDK (untyped calls, narrow TypedDicts).
        self.api: Any = client.api

    # -- engine ---------------------------------------------------------------------------------------------

    def facts(self) -> EngineFacts:
        """Engine versions, runtimes and GPU count (one `info` and one `version` call)."""
        try:
            info = self.api.info()
            version = self.api.version()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise RuntimeUnavailableError(f"the Docker Engine stopped answering: {exc}") from exc
        local = self.api.base_url.startswith(("http+unix://", "http+docker://"))
        return engine_facts(info, version, gpu_count=count_local_gpus() if local else None)

    def close(self) -> None:
        self.client.close()

    # -- images ---------------------------------------------------------------------------------------------

    def image_exists(self, image: str) -> bool:
        try:
            self.api.inspect_image(image)
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError as exc:
            raise RuntimeUnavailableError(f"cannot inspect image {image}: {exc.explanation or exc}") from exc
        return True

    def image_identity(self, image: str) -> ImageIdentity | None:
        """The local image's id and registry digests (what a lock file pins); None when it is not here."""
        try:
            attrs = self.api.inspect_image(image)
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as exc:
            raise RuntimeUnavailableError(f"cannot inspect image {image}: {exc.explanation or exc}") from exc
        return ImageIdentity(image, str(attrs.get("Id", "")), tuple(attrs.get("RepoDigests") or ()))

    def pull(self, image: str, on_progress: Callable[[PullProgress], None] | None = None) -> None:
        """Pull `image`, reporting per-layer progress; an error inside the stream raises `DeploymentError`."""
        pull_image(self.api, image, on_progress)
        if not self.image_exists(image):
            raise pull_error(image, "the pull ended without the image being present")

    # -- containers -----------------------------------------------------------------------------------------

    def create(self, plan: LaunchPlan) -> str:
        """Create (not start) the container of `plan`; secret files are written and mounted read-only.

        All or nothing: when writing the secrets or creating the container fails (or is interrupted), the
        secret files are removed before the error propagates.
        """
        try:
            secret_mounts = [
                docker.types.Mount(target=target, source=str(path), type="bind", read_only=True)
                for path, target in write_secret_files(plan)
            ]
            return self._create_container(plan, secret_mounts)
        except BaseException:
            remove_secret_files(plan.container_name)
            raise

    def _create_container(self, plan: LaunchPlan, secret_mounts: list[docker.types.Mount]) -> str:
        mounts = [
            docker.types.Mount(target=m.target, source=str(m.source), type="bind", read_only=m.read_only)
            for m in plan.mounts
        ]
        mounts.extend(secret_mounts)
        device_requests = [_device_request(req) for req in plan.device_requests]
        port_bindings = {key: tuple(value) for key, value in plan.port_bindings.items()}
        try:
            host_config = self.api.create_host_config(
                port_bindings=port_bindings,
                mounts=mounts,
                device_requests=device_requests or None,
                shm_size=plan.shm_size,
                restart_policy={"Name": "no"},
            )
        except docker.errors.DockerException as exc:
            raise RuntimeUnavailableError(
                f"cannot build the host config of container {plan.container_name}: {exc}"
            ) from exc
        hc = plan.healthcheck
        healthcheck = (
            None
            if hc is None
            else {
                "test": list(hc.test),
                "interval": nanoseconds(hc.interval),
                "timeout": nanoseconds(hc.timeout),
                "start_period": nanoseconds(hc.start_period),
                "retries": int(hc.retries),
            }
        )
        try:
            created = self.api.create_container(
                image=plan.image,
                command=list(plan.command),
                entrypoint=self._entrypoint(plan),
                environment=dict(plan.environment),
                labels=dict(plan.labels),
                name=plan.container_name,
                ports=[exposed_port(key) for key in sorted(port_bindings)],
                host_config=host_config,
                healthcheck=healthcheck,
                stop_timeout=int(plan.stop_timeout),
                detach=True,
            )
        except docker.errors.ImageNotFound as exc:
            raise pull_error(plan.image, str(exc.explanation or exc)) from exc
        except docker.errors.APIError as exc:
            raise RuntimeUnavailableError(
                f"the engine refused to create container {plan.container_name}: {exc.explanation or exc}"
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise RuntimeUnavailableError(
                f"the Docker Engine dropped the creation of container {plan.container_name}: {exc}"
            ) from exc
        return str(created["Id"])

    def _entrypoint(self, plan: LaunchPlan) -> list[str] | None:
        """The plan's entrypoint; a secrets wrapper (`/bin/sh -c SCRIPT ENTRYPOINT...`) execs the image's own.

        The plan is pure and names TGI's `/tgi-entrypoint.sh`; an image with another entrypoint (the emulator,
        custom builds) would make the wrapper fail with exit 127, so the runtime hands it the image's real one.
        """
        if plan.entrypoint is None:
            return None
        entrypoint = list(plan.entrypoint)
        if entrypoint[:2] == ["/bin/sh", "-c"] and len(entrypoint) > 3:
            try:
                configured = (self.api.inspect_image(plan.image).get("Config") or {}).get("Entrypoint")
            except docker.errors.APIError:
                configured = None
            if configured and list(configured) != entrypoint[3:]:
                entrypoint = [*entrypoint[:3], *configured]
        return entrypoint

    def start(self, container_id: str, *, name: str, port: int, bind_address: str) -> None:
        """Start a created container; if the engine refuses, remove it and explain why."""
        try:
            self.api.start(container_id)
        except docker.errors.APIError as exc:
            message = str(exc.explanation or exc)
            self.remove(container_id, force=True)
            self.remove_secrets(name)
            if "could not select device driver" in message or "nvidia" in message.lower():
                raise RuntimeUnavailableError(
                    f"the engine cannot give GPUs to the container: {message}. Install the NVIDIA Container "
                    "Toolkit and restart the engine, or run without GPUs (--gpus none / host.gpus=none)."
                ) from exc
            found = diagnose_with(
                CONTAINER_RULES, [message], DiagnosisContext(port=port, bind_address=bind_address)
            )
            if found is not None and found.key == "api_port_taken":
                raise RuntimeUnavailableError(f"{message}: {found.cause}. Fix: {found.fix}") from exc
            raise RuntimeUnavailableError(f"the engine could not start container {name}: {message}") from exc

    def set_restart_policy(self, container_id: str, name: str = "on-failure", max_retries: int = 5) -> None:
        """Switch the restart policy (done once the server is ready, so start-up crashes are not looped)."""
        policy: dict[str, Any] = {"Name": name}
        if name == "on-failure":
            policy["MaximumRetryCount"] = max_retries
        try:
            self.api.update_container(container_id, restart_policy=policy)
        except docker.errors.APIError as exc:
            raise RuntimeUnavailableError(f"cannot set the restart policy: {exc.explanation or exc}") from exc

    def inspect(self, id_or_name: str) -> ContainerInfo | None:
        """The container's current state, or None when it does not exist."""
        try:
            return info_from_attrs(self.api.inspect_container(id_or_name))
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            raise RuntimeUnavailableError(
                f"cannot inspect container {id_or_name}: {exc.explanation or exc}"
            ) from exc

    def inspect_raw(self, id_or_name: str) -> dict[str, Any]:
        """`docker inspect` output as the engine gives it (tests check it holds no secrets)."""
        return dict(self.api.inspect_container(id_or_name))

    def list_managed(self, name: str | None = None) -> list[ContainerInfo]:
        """Our containers (label `org.tgi-orchestrator.managed=true`), running or not, optionally by name."""
        filters: dict[str, Any] = {"label": [f"{MANAGED_LABEL}=true"]}
        if name is not None:
            filters["label"].append(f"{NAME_LABEL}={name}")
        try:
            summaries = self.api.containers(all=True, filters=filters)
            return [info for s in summaries if (info := self.inspect(s["Id"])) is not None]
        except docker.errors.APIError as exc:
            raise RuntimeUnavailableError(f"cannot list containers: {exc.explanation or exc}") from exc

    def logs(self, container_id: str, *, tail: int | None = None) -> list[str]:
        """Log lines so far (stdout and stderr interleaved), the last `tail` ones when given."""
        try:
            raw = self.api.logs(
                container_id, stdout=True, stderr=True, tail=tail if tail is not None else "all"
            )
        except docker.errors.NotFound:
            return []
        except docker.errors.APIError as exc:
            raise RuntimeUnavailableError(f"cannot read logs: {exc.explanation or exc}") from exc
        return list(split_lines(iter([raw])))

    def follow_logs(self, container_id: str, *, tail: int | None = None) -> LogStream:
        """Log lines as they come; iteration ends when the container stops or `close()` is called."""
        try:
            chunks = self.api.logs(
                container_id,
                stdout=True,
                stderr=True,
                stream=True,
                follow=True,
                tail=tail if tail is not None else "all",
            )
        except docker.errors.NotFound:
            return LogStream(None)
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise RuntimeUnavailableError(f"cannot follow logs: {exc}") from exc
        return LogStream(chunks)

    def stop(self, container_id: str, timeout: float) -> None:
        """SIGTERM, wait up to `timeout` seconds for the drain, then SIGKILL (the engine does the kill)."""
        with contextlib.suppress(docker.errors.NotFound):
            try:
                self.api.stop(container_id, timeout=round(timeout))
            except requests.exceptions.ReadTimeout:
                # The SDK's HTTP timeout is timeout + 60 s by default; the engine kills at `timeout` anyway.
                self.api.kill(container_id)
            except docker.errors.APIError as exc:
                raise RuntimeUnavailableError(f"cannot stop container: {exc.explanation or exc}") from exc

    def remove(self, container_id: str, *, force: bool = False) -> None:
        """Remove the container (not its volumes: the weights cache is a bind mount and stays)."""
        with contextlib.suppress(docker.errors.NotFound):
            try:
                self.api.remove_container(container_id, force=force)
            except docker.errors.APIError as exc:
                if "already in progress" in str(exc):
                    return
                raise RuntimeUnavailableError(f"cannot remove container: {exc.explanation or exc}") from exc

    # -- secrets ---------------------------------------------------------------------------------------------

    @staticmethod
    def remove_secrets(name: str) -> None:
        remove_secret_files(name)


def connect(base_url: str | None = None, *, timeout: float = 60.0) -> DockerRuntime:
    """A runtime for the engine at `base_url` (default: DOCKER_HOST or the local socket) that has answered a ping."""
    try:
        if base_url is not None:
            client = docker.DockerClient(base_url=base_url, version="auto", timeout=int(timeout))
        else:
            client = docker.from_env(timeout=int(timeout), use_context=False)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        raise RuntimeUnavailableError(
            f"no Docker Engine answers at {where} ({exc}). Fix: {_ENGINE_HELP}"
        ) from exc
    return DockerRuntime(client)


def _device_request(req: Any) -> docker.types.DeviceRequest:
    """`--gpus all` is count -1; `--gpus device=0,1` is device ids with count 0 (as the docker CLI sends)."""
    if req.device_ids:
        return docker.types.DeviceRequest(
            count=0, device_ids=[str(d) for d in req.device_ids], capabilities=_capabilities(req.capabilities)
        )
    return docker.types.DeviceRequest(count=int(req.count), capabilities=_capabilities(req.capabilities))


def _capabilities(value: Any) -> list[list[str]]:
    if not value:
        return [["gpu"]]
    items = list(value)
    if all(isinstance(item, str) for item in items):
        return [list(items)]
    return [list(item) for item in items]
