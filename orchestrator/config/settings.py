"""Every knob of a deployment in one frozen model, with where each value came from.

Sources, highest first: CLI flags (passed to `orchestrator.config.loading.load_settings` as `overrides`), environment variables
(`ORCHESTRATOR_` prefix, groups nested with `__`: `ORCHESTRATOR_HOST__PORT=8081`), a `.env` file, an
`orchestrator.toml` file (path from `config_file` or `ORCHESTRATOR_CONFIG`), defaults.
The cross-field rules live in `orchestrator.config.validation`; `orchestrator.config.loading` merges the sources
and runs them, so this module never imports validation (validation imports it).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, PrivateAttr, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from orchestrator.config.gpus import GpuSelection, parse_gpus
from orchestrator.config.sources import (
    CONFIG_FILE_ENV,
    ENV_PREFIX,
    env_var_for,
    sources,
)
from orchestrator.engines import DEFAULT_KIND, KINDS, Engine, engine_for

__all__ = [
    "CONFIG_FILE_ENV",
    "DEFAULT_IMAGE",
    "DEFAULT_MODEL_ID",
    "ENV_PREFIX",
    "EngineSettings",
    "HostSettings",
    "ModelSettings",
    "SecretSettings",
    "Settings",
    "TimeoutSettings",
    "TokenLimits",
    "env_var_for",
    "setting_paths",
]

DEFAULT_MODEL_ID = "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"
DEFAULT_IMAGE = engine_for(DEFAULT_KIND).default_image

_GROUP = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ModelSettings(BaseModel):
    """Which model TGI serves and how it is quantized."""

    model_config = _GROUP

    id: str = DEFAULT_MODEL_ID
    """Hugging Face model id (`org/name`) or an absolute path inside the container."""
    revision: str | None = None
    """Model revision (branch, tag or commit); TGI's default branch when unset."""
    quantize: str | None = "awq"
    """TGI `--quantize` value; `awq` for this checkpoint (4-bit, group size 128, GEMM)."""
    dtype: str | None = None
    """TGI `--dtype`; must stay unset with AWQ (the shard aborts otherwise)."""


class TokenLimits(BaseModel):
    """TGI's token and batching limits; None means "TGI's own default" and the flag is not passed."""

    model_config = _GROUP

    max_input_tokens: int = 3696
    """Longest prompt in tokens (model-card example for this model on TGI)."""
    max_total_tokens: int = 4096
    """Prompt plus generated tokens per request."""
    max_batch_prefill_tokens: int = 4096
    """Tokens one prefill step may process; lower it when warm-up runs out of memory."""
    max_batch_total_tokens: int | None = None
    """Token budget of the running batch; flash models infer it from free memory."""
    max_concurrent_requests: int = 128
    """Requests in flight before TGI answers 429 `overloaded`."""
    max_best_of: int = 2
    """Highest `best_of` a request may ask for."""
    max_stop_sequences: int = 4
    """Most `stop` sequences per request."""
    max_top_n_tokens: int = 5
    """Highest `top_n_tokens` per request."""
    waiting_served_ratio: float | None = None
    """Waiting/running ratio that triggers a new prefill (TGI default 0.3)."""
    max_waiting_tokens: int | None = None
    """Decode steps a waiting request may be passed over (TGI default 20)."""
    max_batch_size: int | None = None
    """Cap on requests in the running batch."""
    gpu_memory_fraction: float | None = None
    """Share of each GPU's memory the engine may use (TGI --cuda-memory-fraction, vLLM --gpu-memory-utilization)."""


class EngineSettings(BaseModel):
    """The TGI image and the launcher arguments beyond what settings cover."""

    model_config = _GROUP

    kind: Literal["tgi", "vllm"] = "tgi"
    """Serving engine: `tgi` or `vllm` (the same settings, translated to its flags)."""
    image: str = DEFAULT_IMAGE
    """Container image, pinned to an exact release tag (for vllm the default is vLLM's pinned image)."""
    tgi_version: str | None = None
    """TGI version the image runs (derived from the tag; set it for custom images)."""
    vllm_version: str | None = None
    """vLLM version the image runs, for engine.kind=vllm (derived from the tag; set it for custom images)."""
    extra_args: list[str] = []
    """Extra `text-generation-launcher` arguments, appended last."""
    usage_stats: Literal["on", "off", "no-stack"] = "off"
    """TGI's `--usage-stats` (telemetry to Hugging Face); off unless you opt in."""

    @model_validator(mode="before")
    @classmethod
    def _engine_default_image(cls, data: Any) -> Any:
        """Without an explicit image, another engine's settings get that engine's pinned image, not TGI's."""
        if isinstance(data, dict) and "image" not in data:
            kind = data.get("kind", DEFAULT_KIND)
            if kind != DEFAULT_KIND and kind in KINDS:
                return {**data, "image": engine_for(kind).default_image}
        return data

    @property
    def pinned_version(self) -> str | None:
        """The version setting of the chosen engine (`tgi_version` or `vllm_version`)."""
        return self.vllm_version if self.kind == "vllm" else self.tgi_version

    @property
    def version_text(self) -> str | None:
        """The engine's explicit version setting, else the version in the image tag, else None."""
        if self.pinned_version:
            return self.pinned_version
        tag = _image_tag(self.image)
        return tag if tag and self.serving_engine.parse_version(tag) else None

    @property
    def version(self) -> tuple[int, int, int] | None:
        """(major, minor, patch) of the targeted engine, or None when neither tag nor version setting tells."""
        text = self.version_text
        return self.serving_engine.parse_version(text) if text else None

    @property
    def serving_engine(self) -> Engine:
        """The engine these settings launch (`orchestrator.engines`): `engine_for(kind)`."""
        return engine_for(self.kind)


class HostSettings(BaseModel):
    """Where and how the container runs on this host."""

    model_config = _GROUP

    bind_address: str = "127.0.0.1"
    """Host address the API port is published on; loopback unless you mean to expose it."""
    port: int = 8080
    """Host port mapped to TGI's port 80."""
    gpus: str = "all"
    """`all`, `none`, GPU indices (`0,1`) or UUIDs (`GPU-...`)."""
    num_shard: int | None = None
    """Shards (one per GPU); derived from `gpus` when unset."""
    shm_size: str = "1g"
    """Shared memory for NCCL (`--shm-size`)."""
    cache_dir: Path = Path("~/.cache/tgi-orchestrator/data")
    """Host directory mounted at `/data` (weights cache, kept across `down`)."""
    container_name: str = "tgi-mistral"
    """Container (deployment) name."""

    @cached_property
    def gpu_selection(self) -> GpuSelection:
        """`gpus` parsed once (ValueError for a malformed list: validation reports it)."""
        return parse_gpus(self.gpus)


class SecretSettings(BaseModel):
    """Secrets: never printed, never in process arguments or a container's environment."""

    model_config = _GROUP

    hf_token: SecretStr | None = None
    """Hugging Face token for gated or private models (delivered to TGI as a read-only file)."""
    api_key: SecretStr | None = None
    """Bearer key TGI requires on generation routes (TGI 2.3+)."""

    def api_key_text(self) -> str | None:
        """The API key in clear, for the Authorization header of a request to the deployment; None when unset."""
        return self.api_key.get_secret_value() if self.api_key is not None else None

    def values(self) -> tuple[str, ...]:
        """Every secret that is set, in clear: what log redaction must mask."""
        return tuple(s.get_secret_value() for s in (self.hf_token, self.api_key) if s is not None)


class TimeoutSettings(BaseModel):
    """Deadlines for start-up and shutdown, in seconds."""

    model_config = _GROUP

    startup_deadline: float = 3600.0
    """Longest the whole start-up (pull to ready) may take."""
    stall_pull: float = 600.0
    """Longest the image pull may go without progress."""
    stall_download: float = 900.0
    """Longest the weight download may go without a new log line."""
    stall_load: float = 600.0
    """Longest shard loading may take."""
    stall_warmup: float = 600.0
    """Longest warm-up may take."""
    stop_grace: float = 120.0
    """Time `down` gives TGI to drain in-flight requests before killing it (TGI drains for 90 s)."""


class Settings(BaseSettings):
    """The effective configuration of one deployment. Build it with `load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
    )

    model: ModelSettings = ModelSettings()
    limits: TokenLimits = TokenLimits()
    engine: EngineSettings = EngineSettings()
    host: HostSettings = HostSettings()
    secrets: SecretSettings = SecretSettings()
    timeouts: TimeoutSettings = TimeoutSettings()

    _sources: dict[str, str] = PrivateAttr(default_factory=dict)
    _validated_as: int = PrivateAttr(0)
    """`id()` of the instance that passed validation (a copy has another id, so it is checked again)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, *(source for _, source in sources(settings_cls)))

    @property
    def validated(self) -> bool:
        """Whether these very settings passed `orchestrator.config.validation.check` (run it once, not per use)."""
        return self._validated_as == id(self)

    def mark_validated(self) -> None:
        """Called by validation when every rule holds."""
        self._validated_as = id(self)

    def source_of(self, path: str) -> str:
        """Where the value at dotted `path` (e.g. `host.port`) came from: flag, env, .env, toml or default."""
        return self._sources.get(path, "default")

    def value_at(self, path: str) -> Any:
        """The value at dotted `path`."""
        value: Any = self
        for part in path.split("."):
            value = getattr(value, part)
        return value

    def effective(self) -> Iterator[tuple[str, Any, str]]:
        """(path, value, source) for every setting; secrets stay `SecretStr` (masked when printed)."""
        for path in setting_paths():
            yield path, self.value_at(path), self.source_of(path)

    @property
    def serving_engine(self) -> Engine:
        """The engine these settings launch (its facts: flags, rules, routes, log lines)."""
        return self.engine.serving_engine

    @property
    def cache_dir(self) -> Path:
        """The host cache directory with `~` expanded."""
        return self.host.cache_dir.expanduser()

    @property
    def endpoint(self) -> str:
        """Base URL of the deployment's API as seen from this host."""
        from orchestrator.config.urls import endpoint_for

        return endpoint_for(self.host.bind_address, self.host.port)


def setting_paths() -> list[str]:
    """Every leaf setting as a dotted path, in declaration order (`model.id`, ..., `timeouts.stop_grace`)."""
    paths: list[str] = []
    for group_name, group_field in Settings.model_fields.items():
        group_cls = group_field.annotation
        assert isinstance(group_cls, type) and issubclass(group_cls, BaseModel)
        paths.extend(f"{group_name}.{name}" for name in group_cls.model_fields)
    return paths


def _image_tag(image: str) -> str | None:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None
