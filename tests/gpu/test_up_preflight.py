"""`up` runs the doctor's checks as its preflight: a host that cannot serve is refused before anything is pulled
or created, and a host that can gets the predicted KV capacity on its container (fake runtime seam, recorded GPUs)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import orchestrator.deploy.doctor as doctor
from orchestrator.config.settings import Settings
from orchestrator.deploy import lifecycle as deploy
from orchestrator.deploy.capacity import PREDICTED_KV_LABEL
from orchestrator.errors import DeploymentError, RuntimeUnavailableError
from orchestrator.launch.plan import LaunchPlan
from orchestrator.runtime.containers import EngineFacts
from tests.gpu.recorded import H100, T4, report
from tests.runtime.test_deploy_unit import FakeRuntime


class GpuHost(FakeRuntime):
    """The fake engine of the deploy tests, on a local host with the NVIDIA runtime."""

    def __init__(self) -> None:
        super().__init__()
        self.plans: list[LaunchPlan] = []

    def facts(self) -> EngineFacts:
        return EngineFacts("26.1", "1.45", ("nvidia", "runc"), "runc", 1)

    def create(self, plan: LaunchPlan) -> str:
        self.plans.append(plan)
        return super().create(plan)


@pytest.fixture(autouse=True)
def _no_port_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import orchestrator.deploy.preflight as preflight

    monkeypatch.setattr(preflight, "check_port", lambda *a: None)


def test_a_t4_is_refused_before_anything_is_created(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(doctor, "_default_reader", lambda: report(T4))
    runtime = GpuHost()
    with pytest.raises(RuntimeUnavailableError) as caught:
        deploy.up(make_settings(host__port=1), runtime=runtime)  # type: ignore[arg-type]
    assert "compute-capability[0]" in str(caught.value) and caught.value.exit_code == 3
    assert runtime.calls == []  # no pull, no create


def test_an_h100_passes_and_the_container_carries_the_prediction(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(doctor, "_default_reader", lambda: report(H100, H100))
    runtime = GpuHost()
    with pytest.raises(
        DeploymentError
    ):  # the fake container exits at once: the start itself is not the point
        deploy.up(make_settings(host__port=1), runtime=runtime)  # type: ignore[arg-type]
    plan = runtime.plans[0]
    assert plan.num_shard == 2  # from NVML's count, not the /dev/nvidiaN count of the fake engine (1)
    assert int(plan.labels[PREDICTED_KV_LABEL]) > 400_000
