"""`deploy.up` decisions with a fake runtime seam: what runs when, and what is cleaned up on failure.

The Docker paths themselves are covered for real in `test_deploy_integration.py`; these check the orchestration
logic quickly, including cases the engine cannot be made to produce on demand (a pull that hangs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.config.settings import Settings
from orchestrator.deploy import lifecycle as deploy
from orchestrator.deploy.readiness import ProgressEvent
from orchestrator.errors import DeploymentError
from orchestrator.launch.plan import LaunchPlan
from orchestrator.runtime.containers import ContainerInfo, EngineFacts, PullProgress


class FakeRuntime:
    """Records calls; the container "exits" with code 1 as soon as it starts unless `serve` is set."""

    def __init__(self, *, image_present: bool = True, pull: Callable[[], None] | None = None) -> None:
        self.calls: list[str] = []
        self.image_present = image_present
        self.pull_behaviour = pull
        self.containers: dict[str, ContainerInfo] = {}
        self.log_lines = ["Args { }", "Starting shard", "Shard 0 failed to start"]

    def facts(self) -> EngineFacts:
        return EngineFacts("20.10", "1.41", ("runc",), "runc", 0)

    def inspect(self, id_or_name: str) -> ContainerInfo | None:
        for info in self.containers.values():
            if id_or_name in (info.id, info.name):
                return info
        return None

    def image_exists(self, image: str) -> bool:
        return self.image_present

    def pull(self, image: str, on_progress: Callable[[PullProgress], None] | None = None) -> None:
        self.calls.append("pull")
        assert self.pull_behaviour is not None
        if on_progress:
            on_progress(PullProgress(image, "abcdef012345", "Pulling fs layer"))
        self.pull_behaviour()

    def create(self, plan: LaunchPlan) -> str:
        self.calls.append("create")
        self.containers["c1"] = _info("c1", plan.container_name, "created", plan.labels)
        return "c1"

    def start(self, container_id: str, **kwargs: Any) -> None:
        self.calls.append("start")
        old = self.containers[container_id]
        self.containers[container_id] = _info(old.id, old.name, "exited", old.labels, exit_code=1)

    def follow_logs(self, container_id: str, *, tail: int | None = None) -> Iterator[str]:
        yield from self.log_lines

    def set_restart_policy(self, *args: Any) -> None:
        self.calls.append("restart-policy")

    def remove(self, container_id: str, *, force: bool = False) -> None:
        self.calls.append("remove")
        found = self.inspect(container_id)  # by id or name, like the engine
        if found is not None:
            del self.containers[found.id]

    def remove_secrets(self, name: str) -> None:
        self.calls.append("remove-secrets")

    def stop(self, container_id: str, timeout: float) -> None:
        self.calls.append(f"stop {timeout:g}")


def _info(
    cid: str, name: str, status: str, labels: dict[str, str], exit_code: int | None = None
) -> ContainerInfo:
    return ContainerInfo(cid, name, "img", status, exit_code, False, "", None, None, 0, None, dict(labels))


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    return load_settings(
        {
            "engine.image": "tgi-orchestrator/emulator:3.3.7",
            "host.gpus": "none",
            "host.port": 1,  # never bound: preflight's port check is patched below
            "host.cache_dir": str(tmp_path / "cache"),
            "timeouts.stall_pull": 0.3,
        },
        env_file=None,
    )


@pytest.fixture(autouse=True)
def _no_port_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import orchestrator.deploy.preflight as preflight

    monkeypatch.setattr(preflight, "check_port", lambda *a: None)


def test_crash_is_diagnosed_and_the_container_removed(settings: Settings) -> None:
    runtime = FakeRuntime()
    with pytest.raises(DeploymentError) as caught:
        deploy.up(settings, runtime=runtime)  # type: ignore[arg-type]
    assert "exited with code 1" in str(caught.value)
    assert "shard crashed" in caught.value.cause
    assert runtime.calls == ["create", "start", "remove", "remove-secrets"]


def test_keep_failed_leaves_it(settings: Settings) -> None:
    runtime = FakeRuntime()
    events: list[ProgressEvent] = []
    with pytest.raises(DeploymentError):
        deploy.up(settings, runtime=runtime, keep_failed=True, progress=events.append)  # type: ignore[arg-type]
    assert "remove" not in runtime.calls and "c1" in runtime.containers
    assert any("--keep-failed" in e.message for e in events)


def test_pull_only_when_missing_and_a_silent_pull_stalls(settings: Settings) -> None:
    hang = threading.Event()

    def silent_pull() -> None:
        hang.wait(5)

    runtime = FakeRuntime(image_present=False, pull=silent_pull)
    events: list[ProgressEvent] = []
    with pytest.raises(DeploymentError) as caught:
        deploy.up(settings, runtime=runtime, progress=events.append)  # type: ignore[arg-type]
    hang.set()
    assert "timeouts.stall_pull" in str(caught.value)
    assert "create" not in runtime.calls
    assert [e.layer for e in events if e.kind == "pull"] == ["abcdef012345"]


def test_pull_error_stops_before_create(settings: Settings) -> None:
    def fail() -> None:
        raise DeploymentError("cannot pull image x: manifest unknown", cause="c", fix="f")

    runtime = FakeRuntime(image_present=False, pull=fail)
    with pytest.raises(DeploymentError, match="manifest unknown"):
        deploy.up(settings, runtime=runtime)  # type: ignore[arg-type]
    assert runtime.calls == ["pull"]


def test_running_deployment_with_other_settings_is_refused_untouched(settings: Settings) -> None:
    runtime = FakeRuntime()
    labels = {"org.tgi-orchestrator.managed": "true", "org.tgi-orchestrator.settings-hash": "other"}
    runtime.containers["old"] = _info("old", settings.host.container_name, "running", labels)
    with pytest.raises(DeploymentError) as caught:
        deploy.up(settings, runtime=runtime)  # type: ignore[arg-type]
    assert "--recreate" in caught.value.fix
    assert "started by an older orchestrator" in str(caught.value) and "settings hash other !=" in str(
        caught.value
    )
    assert runtime.calls == []


def test_refusal_names_each_setting_that_differs_old_to_new_secrets_masked(settings: Settings) -> None:
    from orchestrator.launch.plan import build_plan

    before = settings.model_copy(
        update={"limits": settings.limits.model_copy(update={"max_total_tokens": 8192, "max_batch_size": 16})}
    )
    runtime = FakeRuntime()
    runtime.containers["old"] = _info(
        "old", settings.host.container_name, "running", build_plan(before).labels
    )
    with_key = load_settings(
        {
            **{p: v for p, v, _ in settings.effective() if not p.startswith("secrets.")},
            "secrets.api_key": "sk-x1y2z3w4",
        },
        env_file=None,
    )
    with pytest.raises(DeploymentError) as caught:
        deploy.up(with_key, runtime=runtime)  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.endswith(
        "already running with different settings: limits.max_total_tokens: 8192 → 4096; "
        'limits.max_batch_size: 16 → unset; secrets.api_key: unset → "***"'
    )
    assert "sk-x1y2z3w4" not in message and "settings hash" not in message
    assert runtime.calls == []


def test_stopped_deployment_is_replaced(settings: Settings) -> None:
    runtime = FakeRuntime()
    labels = {"org.tgi-orchestrator.managed": "true", "org.tgi-orchestrator.settings-hash": "other"}
    runtime.containers["old"] = _info("old", settings.host.container_name, "exited", labels, exit_code=0)
    with pytest.raises(DeploymentError):
        deploy.up(settings, runtime=runtime)  # type: ignore[arg-type]
    assert runtime.calls[:3] == ["remove", "remove-secrets", "create"]


def _interrupt() -> None:
    raise KeyboardInterrupt


def test_ctrl_c_during_the_pull_says_nothing_was_created(settings: Settings) -> None:
    runtime = FakeRuntime(image_present=False, pull=_interrupt)
    with pytest.raises(deploy.UpInterrupted) as caught:
        deploy.up(settings, runtime=runtime)  # type: ignore[arg-type]
    assert "pull" in caught.value.left and "no container was created" in caught.value.left
    assert runtime.calls == ["pull"]


class _InterruptedStart(FakeRuntime):
    def start(self, container_id: str, **kwargs: Any) -> None:
        self.calls.append("start")
        raise KeyboardInterrupt


@pytest.mark.parametrize("keep_failed", [False, True])
def test_ctrl_c_after_create_removes_or_keeps_the_container_and_says_which(
    settings: Settings, keep_failed: bool
) -> None:
    runtime = _InterruptedStart()
    with pytest.raises(KeyboardInterrupt) as caught:  # UpInterrupted is a KeyboardInterrupt
        deploy.up(settings, runtime=runtime, keep_failed=keep_failed)  # type: ignore[arg-type]
    assert isinstance(caught.value, deploy.UpInterrupted)
    name = settings.host.container_name
    if keep_failed:
        assert (
            f"container {name} is left, created" in caught.value.left
            and "(--keep-failed)" in caught.value.left
        )
        assert caught.value.leftover == name and "c1" in runtime.containers
    else:
        assert caught.value.left == f"no container {name} is left (interrupted while it was starting; " + (
            "the half-started one was removed)"
        )
        assert caught.value.leftover is None and runtime.calls[-2:] == ["remove", "remove-secrets"]


class _InterruptedCleanUp(_InterruptedStart):
    """The first Ctrl-C lands in `start`; a second one cuts each of the first `cuts` removals short."""

    def __init__(self, cuts: int) -> None:
        super().__init__()
        self.cuts = cuts

    def remove(self, container_id: str, *, force: bool = False) -> None:
        if self.cuts:
            self.cuts -= 1
            self.calls.append("remove-cut")
            raise KeyboardInterrupt
        super().remove(container_id)


def test_second_ctrl_c_during_clean_up_finishes_the_removal_and_says_none_is_left(settings: Settings) -> None:
    runtime = _InterruptedCleanUp(cuts=1)
    with pytest.raises(deploy.UpInterrupted) as caught:
        deploy.up(settings, runtime=runtime)  # type: ignore[arg-type]
    name = settings.host.container_name
    assert caught.value.left == (
        f"no container {name} is left (interrupted again while removing the half-started one; "
        "the removal was finished)"
    )
    assert caught.value.leftover is None and runtime.containers == {}
    assert runtime.calls[-3:] == ["remove-cut", "remove", "remove-secrets"]


def test_ctrl_c_that_keeps_cutting_the_removal_names_the_leftover(settings: Settings) -> None:
    runtime = _InterruptedCleanUp(cuts=2)
    with pytest.raises(deploy.UpInterrupted) as caught:
        deploy.up(settings, runtime=runtime)  # type: ignore[arg-type]
    name = settings.host.container_name
    assert caught.value.left.startswith(f"container {name} may be left") and caught.value.leftover == name
    assert "c1" in runtime.containers


class _InterruptedWait(FakeRuntime):
    """A running container of ours that is still starting; Ctrl-C while `up` waits for it."""

    waiting = False

    def follow_logs(self, container_id: str, *, tail: int | None = None) -> Iterator[str]:
        self.waiting = True
        return iter(["Starting shard"])

    def inspect(self, id_or_name: str) -> ContainerInfo | None:
        if self.waiting:
            self.waiting = False  # one Ctrl-C; the engine answers the look afterwards
            raise KeyboardInterrupt
        return super().inspect(id_or_name)


def test_ctrl_c_while_attached_leaves_the_existing_container_running(settings: Settings) -> None:
    from orchestrator.launch.plan import build_plan

    runtime = _InterruptedWait()
    labels = {
        "org.tgi-orchestrator.managed": "true",
        "org.tgi-orchestrator.settings-hash": build_plan(settings).settings_hash,
        "org.tgi-orchestrator.port": "1",  # nothing answers: `up` waits for it
    }
    runtime.containers["old"] = _info("old", settings.host.container_name, "running", labels)
    with pytest.raises(deploy.UpInterrupted) as caught:
        deploy.up(settings, runtime=runtime)  # type: ignore[arg-type]
    assert "left as it was, still running" in caught.value.left and "removed" not in caught.value.left
    assert runtime.calls == [] and "old" in runtime.containers


class _CreateLandsLate(FakeRuntime):
    """Ctrl-C cuts the create request short; the engine goes on and the container appears a moment later."""

    def __init__(self, lands_after_looks: int) -> None:
        super().__init__()
        self.pending: LaunchPlan | None = None
        self.looks_left = lands_after_looks

    def create(self, plan: LaunchPlan) -> str:
        self.calls.append("create-cut")
        self.pending = plan
        raise KeyboardInterrupt

    def inspect(self, id_or_name: str) -> ContainerInfo | None:
        if self.pending is not None:
            if self.looks_left == 0:
                self.containers["c1"] = _info(
                    "c1", self.pending.container_name, "created", self.pending.labels
                )
                self.pending = None
            self.looks_left -= 1
        return super().inspect(id_or_name)


def test_ctrl_c_during_create_removes_a_container_the_engine_creates_afterwards(settings: Settings) -> None:
    runtime = _CreateLandsLate(lands_after_looks=3)
    with pytest.raises(deploy.UpInterrupted) as caught:
        deploy.up(settings, runtime=runtime)  # type: ignore[arg-type]
    name = settings.host.container_name
    assert caught.value.left == (
        f"no container {name} is left (interrupted while creating it; the engine finished creating it after "
        "the interrupt, and it was removed)"
    )
    assert caught.value.leftover is None and runtime.containers == {}
    assert "remove" in runtime.calls


def test_ctrl_c_during_create_that_never_lands_leaves_nothing(settings: Settings) -> None:
    runtime = _CreateLandsLate(lands_after_looks=10_000)
    with pytest.raises(deploy.UpInterrupted) as caught:
        deploy.up(settings, runtime=runtime)  # type: ignore[arg-type]
    assert (
        caught.value.left
        == f"no container {settings.host.container_name} is left (interrupted while creating it)"
    )
    assert runtime.containers == {}
