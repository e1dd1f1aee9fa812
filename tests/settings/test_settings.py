"""Settings: each source's precedence, source tracking, secrets masking and error messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from orchestrator.config.loading import load_settings
from orchestrator.config.settings import Settings, env_var_for, setting_paths
from orchestrator.errors import ConfigError
from tests.helpers import isolate


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory with no ORCHESTRATOR_* variables around."""
    yield isolate(monkeypatch, tmp_path, cache_home=False)


def load(**kwargs: object) -> Settings:
    return load_settings(validate=False, **kwargs)  # type: ignore[arg-type]


def test_defaults_follow_the_model_card(workdir: Path) -> None:
    settings = load()
    assert settings.model.id == "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"
    assert settings.model.quantize == "awq"
    assert (settings.limits.max_input_tokens, settings.limits.max_total_tokens) == (3696, 4096)
    assert settings.limits.max_batch_prefill_tokens == 4096
    assert settings.limits.max_concurrent_requests == 128
    assert settings.host.bind_address == "127.0.0.1"
    assert settings.host.port == 8080
    assert settings.timeouts.stop_grace > 90
    assert settings.engine.version == (3, 3, 7)
    assert all(settings.source_of(path) == "default" for path in setting_paths())


def test_each_source_beats_the_ones_below(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / "orchestrator.toml").write_text(
        "[host]\nport = 9001\nshm_size = '2g'\ngpus = '0'\n[model]\nrevision = 'toml'\n"
    )
    (workdir / ".env").write_text(
        "ORCHESTRATOR_HOST__PORT=9002\nORCHESTRATOR_HOST__SHM_SIZE=3g\nOTHER_TOOL=1\n"
    )
    monkeypatch.setenv("ORCHESTRATOR_HOST__PORT", "9003")
    settings = load(overrides={"host.port": 9004}, flag_labels={"host.port": "flag --port"})
    assert settings.host.port == 9004
    assert settings.source_of("host.port") == "flag --port"
    assert settings.host.shm_size == "3g"
    assert settings.source_of("host.shm_size") == ".env"
    assert settings.host.gpus == "0"
    assert settings.source_of("host.gpus") == "orchestrator.toml"
    assert settings.model.revision == "toml"

    monkeypatch.delenv("ORCHESTRATOR_HOST__PORT")
    settings = load()
    assert (settings.host.port, settings.source_of("host.port")) == (9002, ".env")
    monkeypatch.setenv("ORCHESTRATOR_HOST__PORT", "9003")
    settings = load()
    assert (settings.host.port, settings.source_of("host.port")) == (9003, "env ORCHESTRATOR_HOST__PORT")


def test_config_file_path_is_overridable(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    custom = workdir / "custom.toml"
    custom.write_text("[limits]\nmax_batch_size = 32\n")
    assert load(config_file=custom).limits.max_batch_size == 32
    monkeypatch.setenv("ORCHESTRATOR_CONFIG", str(custom))
    settings = load()
    assert settings.limits.max_batch_size == 32
    assert settings.source_of("limits.max_batch_size") == str(custom)


def test_missing_config_file_given_explicitly_is_an_error(workdir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(config_file=workdir / "nope.toml")
    assert "does not exist" in str(info.value)


def test_bad_values_name_setting_source_value_and_fix(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / ".env").write_text("ORCHESTRATOR_HOST__PORT=eighty\n")
    (workdir / "orchestrator.toml").write_text("[limits]\nmax_total_tokens = 'lots'\n[host]\ngpuz = 'all'\n")
    with pytest.raises(ConfigError) as info:
        load()
    message = str(info.value)
    assert info.value.exit_code == 2
    assert len(info.value.problems) == 3
    assert "host.port = 'eighty' (from .env)" in message
    assert "limits.max_total_tokens = 'lots' (from orchestrator.toml)" in message
    assert "host.gpuz" in message and "did you mean host.gpus?" in message
    assert "ORCHESTRATOR_HOST__PORT" in message


def test_secrets_never_print(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_SECRETS__HF_TOKEN", "hf_supersecret")
    monkeypatch.setenv("ORCHESTRATOR_SECRETS__API_KEY", "key-supersecret")
    settings = load()
    assert settings.secrets.hf_token is not None
    assert settings.secrets.hf_token.get_secret_value() == "hf_supersecret"
    for text in (repr(settings), str(settings), settings.model_dump_json(), str(list(settings.effective()))):
        assert "supersecret" not in text


def test_secret_in_a_bad_value_is_masked_in_errors(workdir: Path) -> None:
    (workdir / "orchestrator.toml").write_text("[secrets]\napi_key = 12345\n")
    with pytest.raises(ConfigError) as info:
        load()
    assert "12345" not in str(info.value)


def test_settings_are_frozen(workdir: Path) -> None:
    settings = load()
    with pytest.raises(ValidationError, match="frozen"):
        settings.host.port = 1


def test_env_var_names_use_prefix_and_double_underscore() -> None:
    assert env_var_for("limits.max_total_tokens") == "ORCHESTRATOR_LIMITS__MAX_TOTAL_TOKENS"


def test_version_from_tag_or_explicit(workdir: Path) -> None:
    assert load(
        overrides={"engine.image": "ghcr.io/huggingface/text-generation-inference:2.0.4"}
    ).engine.version == (
        2,
        0,
        4,
    )
    assert load(overrides={"engine.image": "registry:5000/tgi:1.1"}).engine.version == (1, 1, 0)
    custom = load(overrides={"engine.image": "me/tgi:custom", "engine.tgi_version": "2.3.1"})
    assert custom.engine.version == (2, 3, 1)
    assert load(overrides={"engine.image": "me/tgi:latest"}).engine.version is None


def test_endpoint_uses_loopback_for_wildcard_binds(workdir: Path) -> None:
    assert load().endpoint == "http://127.0.0.1:8080"
    assert load(overrides={"host.bind_address": "0.0.0.0", "host.port": 81}).endpoint == "http://127.0.0.1:81"


def test_secret_values_in_clear_only_where_asked(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load().secrets.values() == ()
    assert load().secrets.api_key_text() is None
    monkeypatch.setenv("ORCHESTRATOR_SECRETS__HF_TOKEN", "hf_token_value")
    monkeypatch.setenv("ORCHESTRATOR_SECRETS__API_KEY", "api-key-value")
    secrets = load().secrets
    assert secrets.values() == ("hf_token_value", "api-key-value")
    assert secrets.api_key_text() == "api-key-value"
