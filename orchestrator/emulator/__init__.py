"""A TGI 3.3.x-compatible server for GPU-less development, CI and load tests (see docs/emulator.md).

Run it as `python -m orchestrator.emulator [text-generation-launcher flags]` or `orchestrator emulate ...`.
Two packages: `core` (engine-neutral: batching, generation, latency, faults, metrics registry, ASGI and uvicorn
plumbing) and `tgi` (TGI's front-end: launcher flags, start-up logs, routes, validation, errors). A second
engine's front-end would sit beside `tgi`, built on the same `core`.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the emulator with launcher-style arguments; returns the process exit code."""
    from orchestrator.emulator.tgi.server import main as _main

    return _main(argv)
