"""A GPU-less server speaking TGI 3.3.x's or vLLM 0.33.0's API, for development, CI and load tests (docs/emulator.md).

Run it as `python -m orchestrator.emulator [text-generation-launcher flags]` (TGI, the default),
`python -m orchestrator.emulator --engine vllm MODEL [vllm serve flags]`, or through `orchestrator emulate`.
Packages: `core` (engine-neutral: batching, generation, latency, faults, knobs, metrics registry, token pump, ASGI
and uvicorn plumbing), `tgi` (TGI's front-end) and `vllm` (vLLM's front-end), which never import each other.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ENGINES", "main", "split_engine"]

ENGINES = ("tgi", "vllm")


def split_engine(argv: Sequence[str]) -> tuple[str, list[str]]:
    """(`--engine` value, the rest) when the arguments start with `--engine X` / `--engine=X`; TGI otherwise."""
    words = list(argv)
    if words and words[0] == "--engine" and len(words) > 1:
        return words[1], words[2:]
    if words and words[0].startswith("--engine="):
        return words[0].split("=", 1)[1], words[1:]
    return "tgi", words


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator; returns the process exit code."""
    import sys

    engine, rest = split_engine(sys.argv[1:] if argv is None else argv)
    if engine == "vllm":
        from orchestrator.emulator.vllm.server import main as vllm_main

        return vllm_main(["serve", *rest])
    if engine != "tgi":
        print(
            f"error: --engine {engine!r} is not emulated; choose one of: {', '.join(ENGINES)}",
            file=sys.stderr,
        )
        return 2
    from orchestrator.emulator.tgi.server import main as tgi_main

    return tgi_main(rest)
