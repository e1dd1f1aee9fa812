"""Log lines shaped like vLLM 0.33.0's: `(APIServer pid=N) INFO MM-DD HH:MM:SS [file.py:line] message` on stdout.

vLLM logs to stdout (`VLLM_LOGGING_STREAM`); uvicorn's own lines (`INFO:     Started server process [N]`) go to
stderr, as uvicorn's default log config writes them. One write + flush per line so interleaving stays clean.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import TextIO

__all__ = ["VllmLogger"]


class VllmLogger:
    """Writes vLLM-shaped lines for the API server and engine-core "processes" (one real process here)."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.pid = os.getpid()

    @staticmethod
    def _write(stream: TextIO, line: str) -> None:
        try:
            stream.write(line + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass

    def line(self, proc: str, message: str, where: str, level: str = "INFO") -> None:
        stamp = datetime.now().strftime("%m-%d %H:%M:%S")
        self._write(self.out, f"({proc} pid={self.pid}) {level} {stamp} [{where}] {message}")

    def api(self, message: str, where: str = "api_server.py:1", level: str = "INFO") -> None:
        self.line("APIServer", message, where, level)

    def engine(self, message: str, where: str = "core.py:1", level: str = "INFO") -> None:
        self.line("EngineCore", message, where, level)

    def uvicorn(self, message: str) -> None:
        self._write(self.err, f"INFO:     {message}")

    def raw(self, text: str) -> None:
        """A traceback or other unformatted text on stderr (what Python prints for an uncaught exception)."""
        self._write(self.err, text)
