"""`--requests N`: how many requests one load process may send, shared out over the processes of a run.

Each process sends its own share (`process_share`), so the processes together send N without talking to each
other; with a constant open-loop schedule, process i takes the global slots i, i + P, ..., so the shares are the
first N slots. A process whose share is sent and answered is done; the run stops when every process is done (or
its run time is over, whichever comes first). Pure: the Locust side calls `claim` before each send.
"""

from __future__ import annotations

__all__ = ["RequestBudget", "process_share"]


def process_share(total: int, processes: int, index: int) -> int:
    """Process `index`'s part of `total` requests: N // P each, one more for the first N % P processes."""
    if processes < 1 or not 0 <= index < processes:
        raise ValueError(f"process index {index} outside 0..{processes - 1}")
    return total // processes + (1 if index < total % processes else 0)


class RequestBudget:
    """Sends one process may still make; `limit` None means no limit."""

    def __init__(self, limit: int | None = None) -> None:
        if limit is not None and limit < 0:
            raise ValueError(f"--requests share {limit} must be at least 0")
        self.limit = limit
        self.claimed = 0

    def claim(self) -> bool:
        """Take one send from the budget; False once it is used up (the caller must not send)."""
        if self.limit is not None and self.claimed >= self.limit:
            return False
        self.claimed += 1
        return True

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.claimed >= self.limit
