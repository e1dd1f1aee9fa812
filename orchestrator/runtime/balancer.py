"""The balancer container on the Docker Engine: create it with its configuration inside, and run its runtime API.

The HAProxy container runs on the host network (it reaches the replicas on their published ports and binds the
deployment's endpoint itself). Its configuration is copied into the created container before the start
(`put_archive`), so no host file is needed and a remote engine works too. The runtime API (HAProxy's admin
socket, mode 600 inside the container) is reached with `docker exec`: the base image's Python sends one
command and prints the answer, so the socket is never exposed on a port.
"""

from __future__ import annotations

import io
import tarfile
import time
from typing import TYPE_CHECKING

import docker.errors
import requests.exceptions

from orchestrator.errors import RuntimeUnavailableError
from orchestrator.launch.haproxy_config import ADMIN_SOCKET

if TYPE_CHECKING:
    from orchestrator.launch.replicas import BalancerPlan
    from orchestrator.runtime.containers import DockerRuntime

__all__ = ["CONFIG_PATH", "create_balancer", "runtime_api"]

CONFIG_PATH = "/etc/haproxy/haproxy.cfg"

_SEND = (
    "import socket,sys\n"
    "s=socket.socket(socket.AF_UNIX)\n"
    "s.settimeout(10)\n"
    "s.connect(sys.argv[1])\n"
    "s.sendall(sys.argv[2].encode()+b'\\n')\n"
    "out=b''\n"
    "while True:\n"
    "    b=s.recv(65536)\n"
    "    if not b: break\n"
    "    out+=b\n"
    "sys.stdout.write(out.decode('utf-8','replace'))\n"
)


def _archive(name: str, text: str) -> bytes:
    data = text.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def create_balancer(runtime: DockerRuntime, plan: BalancerPlan) -> str:
    """Create (not start) the balancer container with its configuration in place; returns its id."""
    api = runtime.api
    try:
        host_config = api.create_host_config(network_mode="host", restart_policy={"Name": "no"})
        created = api.create_container(
            image=plan.image,
            labels=dict(plan.labels),
            name=plan.container_name,
            host_config=host_config,
            stop_signal="SIGUSR1",
            stop_timeout=int(plan.stop_timeout),
            detach=True,
        )
        container_id = str(created["Id"])
    except docker.errors.ImageNotFound as exc:
        raise RuntimeUnavailableError(
            f"the balancer image {plan.image} is not on this engine. Fix: build it offline with "
            "`bash compose/build-haproxy-image.sh` (or set host.balancer_image)."
        ) from exc
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        raise RuntimeUnavailableError(
            f"the engine refused to create the balancer {plan.container_name}: {exc}"
        ) from exc
    try:
        directory, _, filename = CONFIG_PATH.rpartition("/")
        api.put_archive(container_id, directory, _archive(filename, plan.config_text))
    except BaseException as exc:
        runtime.remove(container_id, force=True)
        if isinstance(exc, docker.errors.APIError):
            raise RuntimeUnavailableError(f"cannot copy the balancer configuration: {exc}") from exc
        raise
    return container_id


def runtime_api(runtime: DockerRuntime, container: str, command: str) -> str:
    """Send one command to HAProxy's runtime API (`set server replicas/r1 state drain`, `show stat`)."""
    api = runtime.api
    try:
        exec_id = api.exec_create(container, ["python3", "-c", _SEND, ADMIN_SOCKET, command])
        output = api.exec_start(exec_id)
        code = api.exec_inspect(exec_id).get("ExitCode")
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        raise RuntimeUnavailableError(
            f"cannot reach the balancer's runtime API in {container}: {exc}"
        ) from exc
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
    if code != 0:
        raise RuntimeUnavailableError(
            f"the balancer's runtime API in {container} failed ({code}) on {command!r}: {text.strip()[-300:]}"
        )
    return text
