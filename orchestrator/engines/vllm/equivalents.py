"""What the shared settings cannot mean on vLLM, said out loud (`config show`, `up --dry-run`) instead of dropped.

TGI settings without a vLLM flag [vllm-server.md §9]: a separate prompt limit, the immediate 429 of
`--max-concurrent-requests`, `best_of`, TGI's batching knobs. Plus legal but risky vLLM choices: a release other
than the one the reference reads, no GPU.
"""

from __future__ import annotations

from orchestrator.engines.base import RuleInput
from orchestrator.engines.vllm.versions import NEWEST_KNOWN, facts_for, format_version

__all__ = ["NO_EQUIVALENT", "warnings"]

NO_EQUIVALENT: dict[str, str] = {
    "limits.max_input_tokens": "vLLM has no separate prompt limit: prompts up to limits.max_total_tokens "
    "(--max-model-len) are accepted and max_tokens is clamped to what is left (TGI answers 422)",
    "limits.max_concurrent_requests": "vLLM never answers 429: requests beyond --max-num-seqs wait in its queue "
    "(TGI answers 429 `overloaded` at once)",
    "limits.max_best_of": "vLLM has no best_of",
    "limits.max_batch_total_tokens": "vLLM sizes its KV cache from limits.gpu_memory_fraction instead",
    "limits.waiting_served_ratio": "vLLM's scheduler has no such ratio",
    "limits.max_waiting_tokens": "vLLM's scheduler has no such knob",
}
"""Setting -> why it is not passed to vLLM. Settings left unset are not mentioned."""


def warnings(rin: RuleInput) -> list[str]:
    """What is not passed to vLLM, and legal but risky vLLM choices."""
    values = rin.values
    found = [
        f"{path}={values[path]!r} has no vLLM equivalent and is not passed: {why}."
        for path, why in NO_EQUIVALENT.items()
        if values.get(path) is not None
    ]
    version = rin.version
    if version is not None and version > NEWEST_KNOWN:
        found.append(
            f"vLLM {format_version(version)} is newer than {format_version(NEWEST_KNOWN)}, the release whose flags "
            "and log lines this tool was checked against."
        )
    elif version is not None and version < NEWEST_KNOWN:
        facts = facts_for(version)
        found.append(
            f"vLLM {format_version(version)} predates {format_version(NEWEST_KNOWN)}, the release whose flags this "
            f"tool was checked against: it runs `{' '.join(facts.entrypoint)}` with --quantization {facts.awq_value}"
            f" (needs compute capability {facts.marlin_min_capability:g}+); flags such as --shutdown-timeout may be "
            "unknown to it."
        )
    if str(values["host.gpus"]).strip().lower() == "none":
        found.append(
            "no GPU is requested (host.gpus=none): real vLLM needs an NVIDIA GPU (compute capability 7.5+) for "
            "this model; only the emulator image runs without one."
        )
    return found
