"""Target selection and the `--up` promise: the deployment is always taken down, even when checks or `up` fail."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.config.settings import Settings
from orchestrator.errors import ConfigError, DeploymentError
from orchestrator.smoke import CheckStatus
from orchestrator.smoke.target import api_key_from, expectations_from, smoke
from tests.smoke.tgi_stub import StubConfig, tgi_stub


@pytest.fixture
def settings(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    return load_settings(
        {"limits.max_input_tokens": 64, "limits.max_total_tokens": 128}, env_file=None, validate=False
    )


class RecordingDeployer:
    """Records calls; `up` answers with `action` like `deploy.up` (created, unchanged, attached...)."""

    def __init__(self, endpoint: str, fail_up: bool = False, action: str = "created") -> None:
        self.endpoint = endpoint
        self.fail_up = fail_up
        self.action = action
        self.calls: list[tuple[str, str]] = []

    def up(self, settings: Settings) -> Any:
        self.calls.append(("up", settings.host.container_name))
        if self.fail_up:
            raise DeploymentError("container exited", cause="test", fix="none")
        return type("Info", (), {"endpoint": self.endpoint, "action": self.action})()

    def down(self, name: str) -> None:
        self.calls.append(("down", name))

    def endpoint_of(self, name: str) -> str | None:
        self.calls.append(("find", name))
        return self.endpoint if name == "tgi-mistral" else None


def test_up_runs_checks_against_the_new_deployment_and_takes_it_down(settings: Settings) -> None:
    with tgi_stub() as (url, _):
        deployer = RecordingDeployer(url)
        report = smoke(settings, up=True, deployer=deployer, timeout=5)
    assert report.ok and report.url == url
    assert deployer.calls == [("up", "tgi-mistral"), ("down", "tgi-mistral")]


def test_up_takes_the_deployment_down_when_checks_fail(settings: Settings) -> None:
    with tgi_stub(StubConfig(faults={"wrong_model"})) as (url, _):
        deployer = RecordingDeployer(url)
        report = smoke(settings, up=True, deployer=deployer, timeout=5)
    assert not report.ok
    assert deployer.calls[-1] == ("down", "tgi-mistral")


def test_a_failed_up_takes_nothing_down(settings: Settings) -> None:
    # deploy.up removes its own half-started container; whatever else has that name is not this run's.
    deployer = RecordingDeployer("http://127.0.0.1:1", fail_up=True)
    with pytest.raises(DeploymentError):
        smoke(settings, up=True, deployer=deployer, timeout=5)
    assert deployer.calls == [("up", "tgi-mistral")]


@pytest.mark.parametrize("action", ["created", "recreated", "replaced"])
def test_every_deployment_this_run_created_is_taken_down(settings: Settings, action: str) -> None:
    with tgi_stub() as (url, _):
        deployer = RecordingDeployer(url, action=action)
        assert smoke(settings, up=True, deployer=deployer, timeout=5).ok
    assert deployer.calls == [("up", "tgi-mistral"), ("down", "tgi-mistral")]


@pytest.mark.parametrize("action", ["unchanged", "attached"])
def test_an_existing_deployment_up_attached_to_is_left_running(settings: Settings, action: str) -> None:
    with tgi_stub(StubConfig(faults={"wrong_model"})) as (url, _):
        deployer = RecordingDeployer(url, action=action)
        assert not smoke(settings, up=True, deployer=deployer, timeout=5).ok
    assert deployer.calls == [("up", "tgi-mistral")]


def test_an_existing_deployment_survives_an_interrupt(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.smoke import target

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(target, "_run", interrupted)
    deployer = RecordingDeployer("http://127.0.0.1:1", action="unchanged")
    with pytest.raises(KeyboardInterrupt):
        smoke(settings, up=True, deployer=deployer, timeout=5)
    assert deployer.calls == [("up", "tgi-mistral")]


def test_name_looks_the_deployment_up_and_explains_a_missing_one(settings: Settings) -> None:
    with tgi_stub() as (url, _):
        deployer = RecordingDeployer(url)
        assert smoke(settings, name="tgi-mistral", deployer=deployer, timeout=5).url == url
    with pytest.raises(DeploymentError, match="no deployment named 'other'"):
        smoke(settings, name="other", deployer=deployer, timeout=5)


def test_expectations_come_from_settings(settings: Settings) -> None:
    expect = expectations_from(settings)
    assert (expect.model_id, expect.max_input_tokens, expect.max_total_tokens) == (settings.model.id, 64, 128)
    assert expectations_from(settings, model_id="x/y").model_id == "x/y"
    given = expectations_from(settings, max_input_tokens=8191, max_total_tokens=8192)
    assert (given.model_id, given.max_input_tokens, given.max_total_tokens) == (settings.model.id, 8191, 8192)


def test_api_key_env_must_be_set(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMOKE_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="SMOKE_TEST_KEY"):
        api_key_from(settings, "SMOKE_TEST_KEY")
    monkeypatch.setenv("SMOKE_TEST_KEY", "k1")
    assert api_key_from(settings, "SMOKE_TEST_KEY") == "k1"
    assert api_key_from(settings, None) is None


def test_skipped_api_key_check_still_reports_skip(settings: Settings) -> None:
    with tgi_stub() as (url, _):
        report = smoke(settings, url=url, timeout=5)
    assert {r.name: r.status for r in report.results}["api_key"] is CheckStatus.SKIP


def test_when_checks_and_down_both_fail_the_first_error_wins_with_a_note(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.smoke import target

    class Broken(RecordingDeployer):
        def down(self, name: str) -> None:
            super().down(name)
            raise RuntimeError("engine went away")

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("checks blew up")

    monkeypatch.setattr(target, "_run", failing)
    deployer = Broken("http://127.0.0.1:1")
    with pytest.raises(ConnectionError) as info:
        smoke(settings, up=True, deployer=deployer, timeout=5)
    assert any("engine went away" in note for note in info.value.__notes__)
    assert deployer.calls == [("up", "tgi-mistral"), ("down", "tgi-mistral")]


def test_interrupting_the_checks_still_takes_the_deployment_down(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.smoke import target

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(target, "_run", interrupted)
    deployer = RecordingDeployer("http://127.0.0.1:1")
    with pytest.raises(KeyboardInterrupt):
        smoke(settings, up=True, deployer=deployer, timeout=5)
    assert deployer.calls == [("up", "tgi-mistral"), ("down", "tgi-mistral")]
