"""The engine seam: what the rest of the orchestrator may ask of a serving engine, as one typed record.

An `Engine` is plain data and pure functions (no I/O, no Docker, no settings model): the plan asks it for a
command line, validation for its start-up rules, the start-up wait for the meaning of its log lines, `status`
for its metric names, the client, smoke checks and load tests for its routes. Each engine package
(`orchestrator.engines.tgi`, later `vllm`) builds one `Engine`; `orchestrator.engines.engine_for` finds it.
Settings reach an engine as `LaunchValues` / `RuleInput` (dotted setting paths to values), so this layer never
imports the configuration layer above it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from orchestrator.engines.diagnosis import Diagnosis, DiagnosisContext

__all__ = [
    "Diagnosis",
    "DiagnosisContext",
    "Engine",
    "EngineLaunch",
    "EngineProblem",
    "HardwareFacts",
    "HardwareNeeds",
    "LaunchValues",
    "Phase",
    "ProbeRequest",
    "Routes",
    "RuleInput",
    "ServerMetrics",
    "StatusMetrics",
    "Version",
]

Version = tuple[int, int, int]


class Phase(Enum):
    """Start-up phases in order, the same for every engine; the value is the stable id in `--json` events."""

    PULLING = "pulling"
    STARTING = "starting"
    DOWNLOADING = "downloading"
    LOADING = "loading"
    WARMING_UP = "warming_up"
    READY = "ready"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def order(self) -> int:
        return _ORDER.index(self)


_ORDER = list(Phase)
_LABELS = {
    Phase.PULLING: "pulling image",
    Phase.STARTING: "starting",
    Phase.DOWNLOADING: "downloading weights",
    Phase.LOADING: "loading shards",
    Phase.WARMING_UP: "warming up",
    Phase.READY: "ready",
}


@dataclass(frozen=True)
class Routes:
    """The HTTP paths an engine serves; None where it has no such route."""

    health: str
    metrics: str
    chat: str
    completions: str
    info: str | None
    """A route describing the running server and its limits (TGI's `/info`)."""
    generate: str | None
    """A native one-shot generation route (TGI's `/generate`)."""
    generate_stream: str | None


@dataclass(frozen=True)
class ProbeRequest:
    """The smallest request that proves a server generates (readiness, after `/health` answers 200)."""

    method: str
    path: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class StatusMetrics:
    """Gauge names on the engine's `/metrics` that `status` shows."""

    queue: str
    running: str
    kv_cache_usage: str | None = None
    """A 0-1 gauge of KV-cache blocks in use, where the engine exports one (vLLM)."""


@dataclass(frozen=True)
class ServerMetrics:
    """The engine's own per-request metrics on `/metrics`, for the server's side of a load report."""

    histograms: Mapping[str, str]
    """Histogram name -> what it measures, in report order."""
    e2e: str
    queue: str
    inference: str
    time_per_token: str
    failures: str
    """A counter of failed requests, one series per `failure_label` value."""
    failure_label: str
    request_counters: tuple[str, ...]
    failure_values: frozenset[str] | None = None
    """The `failure_label` values that mean a failure, where the counter also counts successes (vLLM's
    `request_success{finished_reason}`); None: every series of `failures` is one (TGI's `tgi_request_failure`)."""
    ttft: str | None = None
    """A time-to-first-token histogram, where the engine measures one (vLLM)."""
    inter_token: str | None = None
    """An inter-token latency histogram, where the engine measures one (vLLM)."""

    def is_failure(self, label_value: str) -> bool:
        """Whether a `failures` series with this `failure_label` value counts failed requests."""
        return self.failure_values is None or label_value in self.failure_values


@dataclass(frozen=True)
class LaunchValues:
    """What the plan hands an engine to build its command line: settings as plain values."""

    model_id: str
    revision: str | None
    quantize: str | None
    dtype: str | None
    limits: Mapping[str, int | float | None]
    """Every `limits.*` setting by its leaf name (`max_input_tokens` ...); None means unset."""
    num_shard: int
    usage_stats: str
    extra_args: Sequence[str]
    stop_grace: float = 120.0
    """`timeouts.stop_grace`: how long `down` lets the server drain before the kill (an engine whose drain is a
    flag derives it from this, so no stream is cut)."""
    offline: bool = False
    """Start without the Hub: the weights are already in the cache at `revision` (a commit); the engine must not
    reach the network (`up` pulls first, or `up --offline`)."""
    startup_deadline: float = 3600.0
    """`timeouts.startup_deadline`: how long `up` waits for ready (an engine with its own start-up timeout gets
    this one, so it does not give up first)."""


@dataclass(frozen=True)
class EngineLaunch:
    """An engine's answer for one version: its command line and where its image expects things."""

    command: list[str]
    environment: dict[str, str]
    """Non-secret environment (e.g. the cache location)."""
    image_entrypoint: tuple[str, ...]
    """What the image itself runs; a secret-exporting wrapper execs it."""
    data_dir: str
    """Where the host cache directory is mounted in the container."""
    token_file: str
    """Where huggingface_hub in the image looks for a token file."""
    token_env: str
    """The variable the engine's downloader reads the Hub token from."""
    api_key_env: str
    """The variable the engine reads its API key from (never a flag: flags show in process lists)."""
    forwards_sigterm: bool
    """False when `docker stop` cannot reach the server process (no drain before the kill)."""
    offline_files: tuple[str, ...] = ()
    """Top-level file patterns the engine reads from the cached snapshot when offline (weights, config,
    tokenizer): `up --offline` names the missing ones before starting anything."""
    commit_ref: bool = False
    """Whether the engine's cache lookup needs `refs/<commit>` (a file holding the commit itself) to find a
    snapshot by its commit; huggingface_hub never writes one, so `up` does."""


@dataclass(frozen=True)
class RuleInput:
    """What an engine's start-up rules see: every setting by dotted path, and how to name one in a fix."""

    values: Mapping[str, Any]
    version: Version | None
    where: Callable[[str], str]
    """`where("limits.max_total_tokens")` -> how to set it (flag, env var, files), for fix texts."""
    source_of: Callable[[str], str]
    """Where a setting's value came from (`flag --max-total-tokens`, `default`, ...)."""
    env_var: Callable[[str], str]
    """The environment variable of a setting (`ORCHESTRATOR_LIMITS__MAX_TOTAL_TOKENS`)."""


@dataclass(frozen=True)
class EngineProblem:
    """A broken start-up rule of an engine; the configuration layer adds the source and the shown value."""

    path: str
    rule: str
    fix: str


Rule = Callable[[RuleInput], Iterator[EngineProblem]]

Capability = tuple[int, int]
"""A CUDA compute capability or a CUDA version, (major, minor): (8, 0), (12, 4)."""


@dataclass(frozen=True)
class HardwareFacts:
    """What one engine version needs of the GPU host, and how it sizes its KV cache (for `doctor` and `plan`)."""

    min_compute_capability: Capability
    compute_rule: str
    """Why, in words with the source: `Mistral needs flash-attention v2, sm 8.0+ (tgi-server.md §8)`."""
    built_for: Capability | None
    """The newest compute capability the image's kernels are built for; a newer GPU may not run them."""
    image_cuda: Capability | None
    """The CUDA version the image is built with; None where not established."""
    min_driver_cuda: Capability | None
    """The oldest driver CUDA version the engine documents (through CUDA minor-version compatibility)."""
    memory_fraction_flag: str
    default_memory_fraction: float
    fraction_of_total_is_reserved: bool
    """True: the engine keeps `(1 - fraction) x total` of the memory free when it measures (TGI). False: the
    engine's whole budget is `fraction x total` and that much must be free at start (vLLM)."""
    kv_headroom: float
    """The share of the measured free memory the engine gives the KV cache (TGI_WIGGLE_ROOM 0.95)."""
    runtime_overhead_bytes: int
    """CUDA context, library workspaces and CUDA graphs: an estimate, not a measurement."""
    multi_shard_shm_bytes: int
    """`/dev/shm` the engine's shards need to talk to one another (NCCL) when there is more than one."""
    image_disk_bytes: int
    """Disk the image takes once pulled (an estimate from its download size)."""
    kv_capacity_metric: str | None = None
    """A `/metrics` gauge with the KV-cache token capacity the engine settled on (`tgi_batch_max_total_tokens`)."""


def _no_facts(version: Version) -> HardwareFacts | None:
    return None


def _no_arg(args: Sequence[str]) -> str | None:
    return None


@dataclass(frozen=True)
class HardwareNeeds:
    """An engine's hardware facts per version, and how its own flags change them; the defaults know nothing.
    (The memory fraction is a setting, `limits.gpu_memory_fraction`, mapped to each engine's flag.)"""

    facts_for: Callable[[Version], HardwareFacts | None] = _no_facts
    kv_cache_dtype_in_args: Callable[[Sequence[str]], str | None] = _no_arg
    """The KV-cache dtype extra args set (`--kv-cache-dtype fp8_e5m2`), else None (the model's dtype)."""
    kv_dtype_bytes: tuple[tuple[str, int], ...] = ()
    """Bytes per KV element for each KV-cache dtype name the engine accepts."""


@dataclass(frozen=True)
class Engine:
    """One serving engine, as data and pure functions. See the module docstring for who asks what."""

    kind: str
    """Stable id in settings and labels: `tgi`."""
    name: str
    """For people: `TGI`."""
    default_image: str
    container_port: int
    drain_seconds: float
    """How long the server finishes in-flight requests after SIGTERM, by default."""
    routes: Routes
    readiness_probe: ProbeRequest
    status_metrics: StatusMetrics
    server_metrics: ServerMetrics
    owned_flags: Mapping[str, str]
    """Launcher flag -> the setting that controls it (extra args must not repeat them)."""
    secret_flags: frozenset[str]
    parse_version: Callable[[str], Version | None]
    format_version: Callable[[Version], str]
    oldest_supported: Version
    launch: Callable[[Version, LaunchValues], EngineLaunch]
    rules: tuple[Rule, ...]
    """Its own start-up checks, run before anything starts."""
    warnings: Callable[[RuleInput], list[str]]
    owned_flag_in: Callable[[str], str | None]
    mask_secret_args: Callable[[list[str]], list[str]]
    drain_in_args: Callable[[Sequence[str]], float | None]
    """The drain time when extra args set it, else None."""
    phase_of_line: Callable[[str], Phase | None]
    is_serving_line: Callable[[str], bool]
    """The line after which the server answers HTTP (probe fast from then on)."""
    is_useful_line: Callable[[str], bool]
    tidy_line: Callable[[str], str]
    diagnose: Callable[[Sequence[str], DiagnosisContext, Sequence[str]], Diagnosis | None]
    """(log lines, context, secrets) -> the known cause of a failed start, or None."""
    silent_download: bool = False
    """True when the engine logs nothing while it downloads weights (vLLM): the start-up wait then counts the
    cache directory growing as progress, instead of new log lines."""
    hardware: HardwareNeeds = HardwareNeeds()
    """What it needs of the GPU host and how it sizes its KV cache (`orchestrator doctor`, `orchestrator plan`)."""
    concurrency_limit: Callable[[LaunchValues], int | None] = lambda values: None
    """Requests one server runs at once before it refuses or queues more (TGI: `--max-concurrent-requests`);
    a balancer in front gives each replica that many connections. None: the engine sets no such limit."""
