"""What differs between TGI releases, as data: flag names, quantize values, env names, entrypoints.

Every row cites `shared/reference/tgi-server.md` (the section in brackets). The plan and validation ask
`facts_for(version)` instead of comparing versions themselves, so a renamed flag is fixed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.engines.versions import Version, format_version, parse_version

__all__ = [
    "NEWEST_KNOWN",
    "OLDEST_SUPPORTED",
    "TgiFacts",
    "Version",
    "facts_for",
    "format_version",
    "parse_version",
]

OLDEST_SUPPORTED: Version = (1, 1, 0)
"""The oldest tag the reference covers; older launchers lack flags the plan passes."""
NEWEST_KNOWN: Version = (3, 3, 7)
"""The last upstream tag (TGI is in maintenance mode) [§0]."""

# [§2 --quantize]: values accepted by the launcher, each with the first tag that has it.
_QUANTIZE_SINCE: tuple[tuple[str, Version], ...] = (
    ("awq", (1, 1, 0)),
    ("eetq", (1, 1, 0)),
    ("gptq", (1, 1, 0)),
    ("bitsandbytes", (1, 1, 0)),
    ("bitsandbytes-nf4", (1, 1, 0)),
    ("bitsandbytes-fp4", (1, 1, 0)),
    ("fp8", (2, 0, 0)),
    ("exl2", (2, 1, 0)),
    ("marlin", (2, 1, 0)),
    ("compressed-tensors", (3, 0, 0)),
)

DTYPES: tuple[str, ...] = ("float16", "bfloat16")
"""[§2 --dtype]: the launcher's dtype values."""
DTYPE_COMPATIBLE_QUANTIZE: frozenset[str | None] = frozenset(
    {None, "bitsandbytes", "bitsandbytes-nf4", "bitsandbytes-fp4"}
)
"""[§2 --dtype]: the shard rejects `--dtype` with any quantize other than bitsandbytes."""


@dataclass(frozen=True)
class TgiFacts:
    """The launcher and image facts of one TGI version that the plan depends on."""

    version: Version
    input_limit_flag: str
    """`--max-input-length` before v2.0.0, `--max-input-tokens` from v2.0.0 [§2, §3]."""
    token_env: str
    """`HUGGING_FACE_HUB_TOKEN` up to v2.0.x, `HF_TOKEN` from v2.1.0 (the router falls back to the old name) [§7]."""
    cache_env: str
    """`HUGGINGFACE_HUB_CACHE=/data` up to v2.2.x, `HF_HOME=/data` from v2.3.0 [§7 Volume]."""
    token_file: str
    """Where huggingface_hub in the image looks for a token: `$HF_HOME/token`. HF_HOME is `/data` from v2.3.0;
    before, it is unset in the image, so huggingface_hub's default `~/.cache/huggingface` of root applies."""
    entrypoint: tuple[str, ...]
    """The image's own entrypoint: the launcher in v1.x, `/tgi-entrypoint.sh` from v2.0.0 [§7 Entrypoint]."""
    quantize_values: tuple[str, ...]
    supports_api_key: bool
    """`--api-key` / `API_KEY` exist from v2.3.0 [§2]."""
    supports_max_batch_size: bool
    """`--max-batch-size` exists from v1.4.1 [§2]."""
    forwards_sigterm: bool
    """False for v2.0.0-v2.3.x: `/tgi-entrypoint.sh` keeps bash as PID 1 without `exec`, so `docker stop`'s
    SIGTERM never reaches the launcher and the container is killed after the grace period [§7 Entrypoint]."""

    def usage_stats_args(self, choice: str) -> list[str]:
        """Launcher args for the telemetry choice: `--usage-stats` from v2.3.0, the two v2.2.0 switches, else none.

        v2.2.0's `--disable-usage-stats` turns all telemetry off; `--disable-crash-reports` keeps usage but drops
        crash stacks (what `no-stack` means later). Releases before v2.2.0 send no telemetry at all [§2].
        """
        if self.version >= (2, 3, 0):
            return ["--usage-stats", choice]
        if self.version[:2] == (2, 2):
            return {"off": ["--disable-usage-stats"], "no-stack": ["--disable-crash-reports"]}.get(choice, [])
        return []


def facts_for(version: Version) -> TgiFacts:
    """The facts for `version` (any version; validation rejects those below `OLDEST_SUPPORTED`)."""
    return TgiFacts(
        version=version,
        input_limit_flag="--max-input-tokens" if version >= (2, 0, 0) else "--max-input-length",
        token_env="HF_TOKEN" if version >= (2, 1, 0) else "HUGGING_FACE_HUB_TOKEN",
        cache_env="HF_HOME" if version >= (2, 3, 0) else "HUGGINGFACE_HUB_CACHE",
        token_file="/data/token" if version >= (2, 3, 0) else "/root/.cache/huggingface/token",
        entrypoint=("/tgi-entrypoint.sh",) if version >= (2, 0, 0) else ("text-generation-launcher",),
        quantize_values=tuple(name for name, since in _QUANTIZE_SINCE if version >= since),
        supports_api_key=version >= (2, 3, 0),
        supports_max_batch_size=version >= (1, 4, 1),
        forwards_sigterm=not (2, 0, 0) <= version < (2, 4, 0),
    )
