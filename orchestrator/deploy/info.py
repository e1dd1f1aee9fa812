"""What a deployment is, as its container and our labels describe it: `DeploymentInfo` and `DeploymentStatus`.

Plain values shared by `up`/`down`/`find_deployment` (`orchestrator.deploy.lifecycle`) and `status`
(`orchestrator.deploy.status`); `deployment_info` reads our `org.tgi-orchestrator.*` labels back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestrator.config.urls import endpoint_for
from orchestrator.launch.labels import label

if TYPE_CHECKING:
    from orchestrator.runtime.containers import ContainerInfo

__all__ = ["DeploymentInfo", "DeploymentStatus", "deployment_info"]


@dataclass(frozen=True)
class DeploymentInfo:
    """One deployment of ours, as its container and labels describe it; `endpoint` is the API base URL."""

    name: str
    container_id: str
    model: str
    image: str
    tgi_version: str
    endpoint: str
    status: str
    """Docker's state: running, exited, created, restarting..."""
    port: int | None
    bind_address: str
    gpus: str
    settings_hash: str
    started_at: datetime | None = None
    exit_code: int | None = None
    action: str = ""
    """What `up` did: created, unchanged (already running with these settings), recreated, attached."""
    ready_seconds: float | None = None
    engine: str = "tgi"
    """The engine kind it runs (`orchestrator.engines.KINDS`); containers from before the label are TGI."""

    @property
    def uptime_seconds(self) -> float | None:
        if self.started_at is None or self.status != "running":
            return None
        return max(0.0, (datetime.now(UTC) - self.started_at).total_seconds())

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "engine": self.engine,
            "container_id": self.container_id,
            "model": self.model,
            "image": self.image,
            "tgi_version": self.tgi_version,
            "endpoint": self.endpoint,
            "status": self.status,
            "port": self.port,
            "bind_address": self.bind_address,
            "gpus": self.gpus,
            "settings_hash": self.settings_hash,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "uptime_seconds": None if self.uptime_seconds is None else round(self.uptime_seconds, 1),
            "exit_code": self.exit_code,
            "action": self.action or None,
            "ready_seconds": None if self.ready_seconds is None else round(self.ready_seconds, 3),
        }


@dataclass(frozen=True)
class DeploymentStatus:
    """`status` row: the deployment, its phase and what the server reports (/info limits, /metrics load)."""

    info: DeploymentInfo
    phase: str
    limits: dict[str, int] = field(default_factory=dict)
    queue_size: int | None = None
    running_batch: int | None = None
    server_version: str | None = None
    kv_cache_usage: float | None = None
    """Share (0-1) of KV-cache blocks in use, where the engine exports it (vLLM)."""
    kv_tokens_predicted: int | None = None
    """The planner's KV-cache token capacity when `up` started it (`orchestrator plan`)."""
    kv_tokens_reported: int | None = None
    """The KV-cache token budget the engine settled on (`max_batch_total_tokens`): below the prediction, the
    settings or other processes on the GPU cost capacity."""

    def to_json(self) -> dict[str, Any]:
        data = self.info.to_json()
        data.update(
            phase=self.phase,
            limits=self.limits,
            queue_size=self.queue_size,
            running_batch=self.running_batch,
            server_version=self.server_version,
            kv_cache_usage=self.kv_cache_usage,
            kv_tokens_predicted=self.kv_tokens_predicted,
            kv_tokens_reported=self.kv_tokens_reported,
        )
        return data


def deployment_info(container: ContainerInfo, **extra: Any) -> DeploymentInfo:
    labels = container.labels
    port_text = labels.get(label("port"), "")
    port = int(port_text) if port_text.isdigit() else None
    bind_address = labels.get(label("bind-address"), "127.0.0.1")
    return DeploymentInfo(
        name=labels.get(label("name"), container.name),
        container_id=container.id,
        model=labels.get(label("model"), ""),
        image=container.image,
        tgi_version=labels.get(label("tgi-version"), ""),
        endpoint=endpoint_for(bind_address, port),
        status=container.status,
        port=port,
        bind_address=bind_address,
        gpus=labels.get(label("gpus"), ""),
        settings_hash=labels.get(label("settings-hash"), ""),
        started_at=container.started_at,
        exit_code=container.exit_code,
        engine=labels.get(label("engine"), "tgi"),
        **extra,
    )
