"""How many bytes the weights cache holds: the download progress of an engine that logs none (vLLM).

vLLM disables its download progress bars and prints nothing until the weights are in [vllm-server.md §3], so the
start-up wait counts the bind-mounted cache directory growing (huggingface_hub writes `*.incomplete` blobs there
as it downloads) as progress instead of new log lines. Best effort: unreadable entries are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["cache_bytes", "cache_meter"]


def cache_bytes(root: Path) -> int | None:
    """Total size of the regular files under `root` (symlinks not followed), or None when it cannot be read."""
    if not root.is_dir():
        return None
    total = 0
    stack = [str(root)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total


def cache_meter(root: Path) -> Callable[[], int | None]:
    """A zero-argument reading of `cache_bytes(root)`, for `wait_until_ready(cache_size=...)`."""
    return lambda: cache_bytes(root)
