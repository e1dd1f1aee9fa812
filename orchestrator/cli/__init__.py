"""Command line entry point: `orchestrator`. Thin: parse, call the library, print, map errors to exit codes."""

from __future__ import annotations

from orchestrator.cli.app import app, main

__all__ = ["app", "main"]
