"""One rule maps a publish address to the URL this host uses, for settings, deployments and clients alike."""

from __future__ import annotations

import pytest

from orchestrator.config.urls import endpoint_for


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("0.0.0.0", "http://127.0.0.1:8080"),
        ("", "http://127.0.0.1:8080"),
        ("::", "http://[::1]:8080"),
        ("::1", "http://[::1]:8080"),
        ("192.0.2.7", "http://192.0.2.7:8080"),
    ],
)
def test_endpoint_for(bind: str, url: str) -> None:
    assert endpoint_for(bind, 8080) == url


def test_settings_and_client_use_the_same_rule(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.client import TGIClient
    from orchestrator.config.loading import load_settings

    monkeypatch.chdir(str(tmp_path))
    settings = load_settings({"host.bind_address": "::", "host.port": 8181}, env_file=None)
    assert settings.endpoint == "http://[::1]:8181"
    with TGIClient.from_settings(settings) as client:
        assert client.endpoints == ["http://[::1]:8181"]
