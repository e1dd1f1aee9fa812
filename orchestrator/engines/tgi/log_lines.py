"""What TGI's log lines mean: the start-up phase a line proves, the router's `Connected`, and display tidying.

Pure functions over strings (tgi-server.md §7 lists the milestones), shared by the start-up wait
(`orchestrator.deploy.readiness`) and `status` (`orchestrator.deploy.status`), which reads the phase from the logs.
"""

from __future__ import annotations

import json
import re

from orchestrator.engines.base import Phase

__all__ = ["Phase", "is_connected_line", "is_useful_line", "phase_of_line", "tidy_line"]


# Substring -> phase it proves we are in (TGI 1.x-3.x launcher, shard and router lines).
_MILESTONES: tuple[tuple[str, Phase], ...] = (
    ("Args {", Phase.STARTING),
    ("Starting check and download process", Phase.DOWNLOADING),
    ("Starting download process", Phase.DOWNLOADING),
    ("Download file:", Phase.DOWNLOADING),
    ("Download: [", Phase.DOWNLOADING),
    ("Files are already present on the host", Phase.DOWNLOADING),
    ("Successfully downloaded weights", Phase.DOWNLOADING),
    ("Starting shard", Phase.LOADING),
    ("Waiting for shard to be ready", Phase.LOADING),
    ("Server started at unix://", Phase.LOADING),
    ("Shard ready in", Phase.LOADING),
    ("Starting Webserver", Phase.WARMING_UP),
    ("Warming up model", Phase.WARMING_UP),
    ("Setting max batch total tokens", Phase.WARMING_UP),
    ("Connected", Phase.WARMING_UP),
)
_CONNECTED = re.compile(r"\bConnected\b(?!\s+to\b)")
_NOISE = ("Waiting for shard to be ready", "Invalid hostname, defaulting")


def phase_of_line(line: str) -> Phase | None:
    """The phase a log line proves TGI has reached, or None for ordinary lines."""
    for needle, phase in _MILESTONES:
        if needle in line:
            return phase
    return None


_PREFIX = re.compile(
    r"^\d{4}-\d\d-\d\dT[\d:.]+Z?\s+(?P<level>[A-Z]+)\s+"  # timestamp and level
    r"(?:[\w-]+(?:::[\w-]+)*(?:\{[^}]*\})?:\s+)*"  # spans and targets: `download:`, `shard-manager:`, `warmup{...}:`
    r"(?:[\w/.-]+\.rs:\d+:\s+)?"  # router source location
)


def tidy_line(line: str) -> str:
    """A log line for display: TGI's message without timestamp, targets and source location (JSON too)."""
    text = line.strip()
    if text.startswith("{"):
        try:
            record = json.loads(text)
        except ValueError:
            return text
        if isinstance(record, dict):
            fields = record.get("fields")
            message = fields.get("message") if isinstance(fields, dict) else record.get("message")
            level = record.get("level", "")
            if isinstance(message, str):
                return f"{message}" if level in ("INFO", "") else f"{level} {message}"
        return text
    match = _PREFIX.match(text)
    if not match:
        return text
    rest = text[match.end() :]
    return rest if match["level"] == "INFO" else f"{match['level']} {rest}"


def is_useful_line(line: str) -> bool:
    """Lines worth showing as "last log line" (not blank, not the every-10-s shard wait)."""
    text = line.strip()
    return bool(text) and not any(noise in text for noise in _NOISE)


def is_connected_line(line: str) -> bool:
    """The router's `Connected` (it serves right after), not e.g. `Connected to shard`."""
    return _CONNECTED.search(line) is not None
