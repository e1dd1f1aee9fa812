"""Per-test faults of the Hub stand-in, each aimed at the files whose path matches a pattern.

    stall    after `at` bytes of a matching body, send nothing for `seconds` (then go on)
    cut      after `at` bytes of a matching body, close the connection (a transfer cut mid-file)
    corrupt  flip the byte at offset `at` of a matching body (a wrong byte, same length)
    slow     wait `seconds` before answering any matching request (HEAD, GET, API calls alike)
    rate     send a matching body at `bytes_per_second` at most
    missing  answer 404 EntryNotFound for a matching file although the tree lists it

`times` is how many requests the fault hits before it wears off (None: every one). Over HTTP a test posts the
same fields as JSON to `/_standin/faults` (see `orchestrator.emulator.hub`).
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Fault", "FaultBook"]

Kind = Literal["stall", "cut", "corrupt", "slow", "rate", "missing"]


@dataclass
class Fault:
    kind: Kind
    path: str = "*"
    """fnmatch pattern over the file path (`model.safetensors`), or over the request path for `slow`."""
    at: int = 0
    seconds: float = 0.0
    bytes_per_second: float = 0.0
    times: int | None = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultBook:
    """The faults in force; thread-safe, as the server answers each request on its own thread."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def listed(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, kinds: set[str], path: str) -> list[Fault]:
        """The faults of `kinds` that hit this request of `path`, each counted as used once."""
        hit: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fnmatch.fnmatchcase(path, fault.path) and fault.times != 0:
                    if fault.times is not None:
                        fault.times -= 1
                    hit.append(fault)
        return hit
