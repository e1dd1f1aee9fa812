"""Read-only Engine API calls over the local Unix socket with the standard library: what `orchestrator doctor`
asks (versions, runtimes, CDI, data directory; does an image exist; a container by name).

Why not the SDK: importing `docker` costs about 0.4 s, most of the doctor's budget, and the doctor must also
run where the `docker` package is missing. Only for `unix://` engines; anything else goes through
`orchestrator.runtime.containers`. The answers are translated by the same functions the SDK path uses
(`orchestrator.runtime.values`), so both paths give the same `EngineFacts` and `ContainerInfo`.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.parse
from pathlib import Path
from typing import Any

from orchestrator.errors import RuntimeUnavailableError
from orchestrator.runtime.values import ContainerInfo, EngineFacts, engine_facts, info_from_attrs

__all__ = ["DEFAULT_SOCKET", "LocalEngine", "count_local_gpus", "local_socket"]

DEFAULT_SOCKET = "/var/run/docker.sock"


def count_local_gpus() -> int | None:
    """`/dev/nvidiaN` devices on this host; None when /dev cannot be read."""
    devices = [p for p in Path("/dev").glob("nvidia[0-9]*") if p.name[6:].isdigit()]
    return len(devices) if devices else (0 if Path("/dev").is_dir() else None)


def local_socket() -> str | None:
    """The engine's Unix socket path from DOCKER_HOST (default `/var/run/docker.sock`), None for other schemes."""
    host = os.environ.get("DOCKER_HOST", "")
    if not host:
        return DEFAULT_SOCKET
    return host[len("unix://") :] if host.startswith("unix://") else None


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class LocalEngine:
    """The three read-only calls of the doctor against the engine at `path`."""

    def __init__(self, path: str, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout

    def _get(self, url: str) -> tuple[int, Any]:
        connection = _UnixConnection(self.path, self.timeout)
        try:
            connection.request("GET", url)
            response = connection.getresponse()
            body = response.read()
        except OSError as exc:
            raise RuntimeUnavailableError(
                f"no Docker Engine answers at unix://{self.path} ({exc}). Fix: start the Docker Engine "
                "(`sudo systemctl start docker`) or set DOCKER_HOST; check with `docker info`."
            ) from exc
        finally:
            connection.close()
        return response.status, json.loads(body) if body else None

    def facts(self) -> EngineFacts:
        _, info = self._get("/info")
        _, version = self._get("/version")
        return engine_facts(info or {}, version or {}, gpu_count=count_local_gpus())

    def image_exists(self, image: str) -> bool:
        status, _ = self._get(f"/images/{urllib.parse.quote(image, safe='')}/json")
        return status == 200

    def inspect(self, name: str) -> ContainerInfo | None:
        status, attrs = self._get(f"/containers/{urllib.parse.quote(name, safe='')}/json")
        return info_from_attrs(attrs) if status == 200 and isinstance(attrs, dict) else None
