"""What vLLM's log lines mean: the start-up phase a line proves, the line after which it serves, display tidying.

vLLM logs `(<proc> pid=N) LEVEL MM-DD HH:MM:SS [file.py:line] msg` on stdout and uvicorn `INFO:     msg` on
stderr [vllm-server.md §3]; milestones are matched on substrings, never line numbers. vLLM prints nothing while
it downloads weights (its progress bars are disabled), so the download phase is the time after `Starting to
load model` until the first loading line.
"""

from __future__ import annotations

import re

from orchestrator.engines.base import Phase

__all__ = ["is_serving_line", "is_useful_line", "phase_of_line", "tidy_line"]

_MILESTONES: tuple[tuple[str, Phase], ...] = (
    ("vLLM server version", Phase.STARTING),  # 0.33.0 one-liner (logo off)
    ("vLLM API server version", Phase.STARTING),  # older releases
    ("non-default args:", Phase.STARTING),
    ("Starting to load model", Phase.DOWNLOADING),  # weights are fetched, silently, after this line
    ("Time spent downloading weights", Phase.DOWNLOADING),
    ("Loading safetensors checkpoint shards", Phase.LOADING),
    ("Loading weights took", Phase.LOADING),  # weights loaded
    ("Model loading took", Phase.LOADING),
    ("for vLLM's torch.compile", Phase.WARMING_UP),
    ("Dynamo bytecode transform", Phase.WARMING_UP),
    ("torch.compile took", Phase.WARMING_UP),
    ("Available KV cache memory", Phase.WARMING_UP),  # KV cache sized
    ("GPU KV cache size", Phase.WARMING_UP),
    ("# GPU blocks", Phase.WARMING_UP),
    ("Capturing CUDA graphs", Phase.WARMING_UP),  # CUDA graphs
    ("Graph capturing finished", Phase.WARMING_UP),
    ("init engine (profile, create kv cache, warmup model)", Phase.WARMING_UP),
    ("Starting vLLM server on", Phase.WARMING_UP),
    ("Starting vLLM API server", Phase.WARMING_UP),
    ("Application startup complete", Phase.WARMING_UP),  # startup complete: ready once the probes pass
)
_SERVING = "Application startup complete."
_NOISE = ("Route: ", "Waiting for application startup", "Started server process")

_PROC = r"^(?:\((?P<proc>[\w-]+) pid=\d+\)\s+)?"  # (APIServer pid=1), (EngineCore_DP0 pid=87)
_PREFIX = re.compile(
    _PROC + r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?\s+"
    r"\[?[\w/.-]+\.py:\d+\]\s*"
)
_UVICORN = re.compile(_PROC + r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL):\s+")


def phase_of_line(line: str) -> Phase | None:
    """The phase a log line proves vLLM has reached, or None for ordinary lines."""
    for needle, phase in _MILESTONES:
        if needle in line:
            return phase
    return None


def is_serving_line(line: str) -> bool:
    """uvicorn's `Application startup complete.`: vLLM's socket listens right after it (refused before)."""
    return _SERVING in line


def is_useful_line(line: str) -> bool:
    """Lines worth showing as "last log line" (not blank, not the route list or uvicorn's boilerplate)."""
    text = line.strip()
    return bool(text) and not any(noise in text for noise in _NOISE)


def tidy_line(line: str) -> str:
    """A log line for display: the message without process, timestamp and source location (level if not INFO)."""
    text = line.strip()
    match = _PREFIX.match(text) or _UVICORN.match(text)
    if not match:
        return text
    rest = text[match.end() :]
    return rest if match["level"] == "INFO" else f"{match['level']} {rest}"
