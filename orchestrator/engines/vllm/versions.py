"""What differs between vLLM releases, as data: the image's entrypoint, how the model is passed, the AWQ kernel
value, flags that were removed. Sections in brackets are those of `shared/reference/vllm-server.md`.

vLLM 0.33.0 is the release the reference reads; older ones are known only where the reference (and the issues it
cites) says what changed. The plan and validation ask `facts_for(version)` instead of comparing versions.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.engines.versions import Version, format_version, parse_version

__all__ = [
    "AUTO_AWQ_SINCE",
    "DEFAULT_VERSION",
    "IMAGE_REPOSITORY",
    "NEWEST_KNOWN",
    "OLDEST_SUPPORTED",
    "REMOVED_FLAGS",
    "SERVE_ENTRYPOINT_SINCE",
    "VllmFacts",
    "facts_for",
    "format_version",
    "parse_version",
]

IMAGE_REPOSITORY = "vllm/vllm-openai"
DEFAULT_VERSION = "v0.33.0"
"""Docker Hub tags carry a `v` (`vllm/vllm-openai:v0.33.0`) [§1]."""
NEWEST_KNOWN: Version = (0, 33, 0)
OLDEST_SUPPORTED: Version = (0, 10, 1)
"""The nested OpenAI error body (`{"error": {...}}`) the client reads arrived in v0.10.1 [§5]."""

SERVE_ENTRYPOINT_SINCE: Version = (0, 17, 0)
"""Images run `vllm serve` (model as the first positional argument) from here; older ones run
`python3 -m vllm.entrypoints.openai.api_server`, which ignores a positional model and needs `--model` [§1].
The exact release of the switch is not in the reference: images of ~0.12-0.14 still used the module entry and
`:latest` of March 2026 (~0.17) already `vllm serve`, so the switch is taken at 0.17.0."""
AUTO_AWQ_SINCE: Version = (0, 20, 0)
"""From here `awq` maps to AutoAWQ, which picks the Marlin kernel itself. Before, an explicit `awq` forced the
slow AWQ kernel ("Use quantization=awq_marlin for faster inference"), so `awq_marlin` is passed [§1]."""

REMOVED_FLAGS: dict[str, tuple[Version, str]] = {
    "--swap-space": ((0, 18, 0), "CPU swap space was removed with the V0 engine"),
}
"""Flag -> (first release without it, why): vLLM exits 2 with `unrecognized arguments` on them [§2]."""


@dataclass(frozen=True)
class VllmFacts:
    """The image and CLI facts of one vLLM version that the plan depends on."""

    version: Version
    entrypoint: tuple[str, ...]
    positional_model: bool
    """`vllm serve MODEL` (and `--served-model-name` then needs the positional form) vs `--model MODEL`."""
    awq_value: str
    """What `--quantization` gets for an AWQ checkpoint: `awq` (AutoAWQ) or, on older releases, `awq_marlin`."""
    marlin_min_capability: float
    """Compute capability the AWQ kernel this release picks needs: 7.5 (AutoAWQ), 8.0 (old awq_marlin) [§1]."""

    def removed(self, flag: str) -> str | None:
        """Why `flag` no longer exists in this release, or None when it does."""
        since = REMOVED_FLAGS.get(flag)
        if since is None or self.version < since[0]:
            return None
        return f"vLLM {format_version(since[0])} removed it ({since[1]})"


def facts_for(version: Version) -> VllmFacts:
    """The facts for `version` (any version; validation rejects those below `OLDEST_SUPPORTED`)."""
    serve = version >= SERVE_ENTRYPOINT_SINCE
    auto_awq = version >= AUTO_AWQ_SINCE
    return VllmFacts(
        version=version,
        entrypoint=("vllm", "serve") if serve else ("python3", "-m", "vllm.entrypoints.openai.api_server"),
        positional_model=serve,
        awq_value="awq" if auto_awq else "awq_marlin",
        marlin_min_capability=7.5 if auto_awq else 8.0,
    )
