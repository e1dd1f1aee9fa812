"""Log lines shaped like TGI's: the launcher's compact tracing format, or JSON with `--json-output`.

Plain: `2025-01-01T00:00:00.000000Z  INFO text_generation_launcher: message` (shard lines add the
`shard-manager:` span and ` rank=0`; router lines carry ANSI colours, file and line). JSON: launcher lines are
`{"timestamp","level","fields":{"message"},"target"}` (+ `span`/`spans` for shard lines); router lines are
flattened `{"timestamp","level","message","target","filename","line_number"}`. Output goes to stdout, flushed per
line; the final `Error: ...` of a failed launcher goes to stderr, as Rust's `main` prints it.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TextIO

__all__ = ["TgiLogger"]

_ROUTER_TARGET = "text_generation_router_v3"
_ROUTER_FILE = "backends/v3/src/lib.rs"


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TgiLogger:
    """Writes TGI-shaped log lines (one `write` + flush per line, so interleaving stays clean)."""

    def __init__(self, json_output: bool, stream: TextIO | None = None) -> None:
        self.json_output = json_output
        self.stream = stream or sys.stdout

    def _write(self, line: str) -> None:
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass

    def launcher(
        self, message: str, level: str = "INFO", span: str | None = None, rank: int | None = None
    ) -> None:
        if self.json_output:
            record: dict[str, object] = {"timestamp": _timestamp(), "level": level, "fields": {"message": message},
                                         "target": "text_generation_launcher"}  # fmt: skip
            if span is not None:
                span_info: dict[str, object] = {"name": span}
                if rank is not None:
                    span_info["rank"] = rank
                record["span"] = span_info
                record["spans"] = [span_info]
            self._write(json.dumps(record))
            return
        prefix = f"{span}: " if span else ""
        suffix = f" rank={rank}" if rank is not None else ""
        self._write(f"{_timestamp()} {level:>5} {prefix}text_generation_launcher: {message}{suffix}")

    def shard(self, message: str, level: str = "INFO", rank: int = 0) -> None:
        self.launcher(message, level, span="shard-manager", rank=rank)

    def download(self, message: str, level: str = "INFO") -> None:
        self.launcher(message, level, span="download")

    def router(self, message: str, level: str = "INFO", filename: str = _ROUTER_FILE, line: int = 125,
               target: str = _ROUTER_TARGET) -> None:  # fmt: skip
        if self.json_output:
            self._write(json.dumps({"timestamp": _timestamp(), "level": level, "message": message,
                                    "target": target, "filename": filename, "line_number": line}))  # fmt: skip
            return
        colour = {"INFO": "32", "WARN": "33", "ERROR": "31"}.get(level, "34")
        self._write(
            f"\x1b[2m{_timestamp()}\x1b[0m \x1b[{colour}m{level:>5}\x1b[0m \x1b[2m{target}\x1b[0m\x1b[2m:\x1b[0m "
            f"\x1b[2m{filename}\x1b[0m\x1b[2m:\x1b[0m\x1b[2m{line}:\x1b[0m {message}"
        )

    def relay(self, line: str) -> None:
        """A child's raw output line, as the launcher passes it through (`println!`, no log format)."""
        self._write(line)

    def final_error(self, text: str) -> None:
        """Rust's `main` returning `Err(e)`: `Error: <Debug of e>` on stderr."""
        try:
            sys.stderr.write(f"Error: {text}\n")
            sys.stderr.flush()
        except (BrokenPipeError, ValueError):
            pass
