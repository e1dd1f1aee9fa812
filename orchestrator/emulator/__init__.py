"""A TGI 3.3.x-compatible server for GPU-less development, CI and load tests (see docs/emulator.md).

Run it as `python -m orchestrator.emulator [text-generation-launcher flags]` or `orchestrator emulate ...`.
Modules: `flags` (launcher + emulator flags), `clap` (clap 4's parsing and error text), `config` (checks/defaults),
`startup` (milestone logs), `server` (lifecycle), `arrival` (arrival stamps in the HTTP protocol), `app` (ASGI routing), `native` / `openai` (routes), `validation`, `service` (pipeline), `engine`
(continuous batching), `latency` (GPU profiles), `generation` / `vocab` (tokens), `faults`, `metrics`, `logs`.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the emulator with launcher-style arguments; returns the process exit code."""
    from orchestrator.emulator.server import main as _main

    return _main(argv)
