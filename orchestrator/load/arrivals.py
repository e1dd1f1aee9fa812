"""Open-loop arrival schedules: when each request should be sent, whatever the server is doing.

A closed loop (N users sending back to back) slows down with the server and hides its queueing: coordinated
omission. In an open loop the send times are fixed in advance (constant spacing or a Poisson process), a pool of
users takes the slots in order, and latency is measured from the *scheduled* time, so a late send counts against
the server's latency. A slot taken more than `max_lateness` after its time is dropped and counted, not sent.

The schedule covers a window: from its start to `end` (start + run time), or until the request budget
(`--requests`) is sent, or the stop, whichever comes first. `settle` accounts for every slot due in that window:
sent, dropped, or not taken before the stop (every user busy); slots handed out ahead to a waiting user but due
after the window are not part of it. So `slots == sent + dropped + unsent_at_stop`, exactly.

With several load processes each takes `rate / processes`: constant schedules are phase-shifted so that together
they are evenly spaced; independent Poisson processes add up to one of the full rate. Pure: the caller passes the
clock readings.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

from orchestrator.load.limits import RequestBudget

__all__ = ["ARRIVAL_COUNTERS", "ArrivalSchedule", "ArrivalStats", "SlotDecision"]

ARRIVAL_KINDS = ("constant", "poisson")
_AFTER_TRACE_S = 1e6
"""Slots asked for after a trace's last entry lie this far after it: never due within the run."""


@dataclass(slots=True)
class ArrivalStats:
    """How the window's slots went; `slots`, `unsent_at_stop` and `not_due_at_stop` are known once settled."""

    slots: int = 0
    """slots due in the window: sent + dropped + unsent_at_stop"""
    sent: int = 0
    late: int = 0
    """sent more than `late_after` after their time (a subset of `sent`)"""
    dropped: int = 0
    """taken more than `max_lateness` after their time: not sent"""
    unsent_at_stop: int = 0
    """due before the stop but not taken yet: every user was busy (or just waking) when the run stopped"""
    not_due_at_stop: int = 0
    """handed out ahead to a waiting user, due after the window: not part of it"""

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


ARRIVAL_COUNTERS: tuple[str, ...] = tuple(f.name for f in fields(ArrivalStats))


@dataclass(frozen=True, slots=True)
class SlotDecision:
    scheduled: float
    delay: float
    send: bool


class ArrivalSchedule:
    """Send times for one load process, starting at `start` (seconds on the caller's monotonic clock)."""

    def __init__(
        self,
        rate: float,
        *,
        kind: str = "constant",
        start: float = 0.0,
        index: int = 0,
        processes: int = 1,
        seed: int | None = None,
        max_lateness: float | None = None,
        late_after: float = 0.010,
        end: float | None = None,
        budget: RequestBudget | None = None,
        offsets: Sequence[float] | None = None,
    ) -> None:
        if offsets is not None:  # a trace: this process's own send times, seconds after `start`
            kind, rate = "trace", max(rate, 1.0)
        if rate <= 0:
            raise ValueError(f"--rate {rate} must be above 0 requests/s")
        if kind not in (*ARRIVAL_KINDS, "trace"):
            raise ValueError(f"--arrival {kind!r} is not one of {', '.join(ARRIVAL_KINDS)}")
        if processes < 1 or not 0 <= index < processes:
            raise ValueError(f"process index {index} outside 0..{processes - 1}")
        self.rate = rate
        self.kind = kind
        self.own_rate = rate / processes
        self.max_lateness = max_lateness
        self.late_after = late_after
        self.end = end
        self.budget = budget
        self.stats = ArrivalStats()
        self._pending: Counter[float] = Counter()
        self._rng = random.Random(None if seed is None else seed * 1000 + index)
        self._start = start
        self._index = index
        self._processes = processes
        self._offsets = list(offsets or ())
        self._n = 0
        self._next = self._following(start)

    def _following(self, slot: float) -> float:
        """The slot after slot number `_n - 1` (which was at `slot`)."""
        if self.kind == "trace":
            if self._n < len(self._offsets):
                return self._start + self._offsets[self._n]
            return self._start + (self._offsets[-1] if self._offsets else 0.0) + _AFTER_TRACE_S
        if self.kind == "constant":
            # process i sends at start + (i + k * processes) / rate: evenly spaced when merged. Multiplied, not
            # summed, so slot k is exactly start + k / rate (no drift that would let a slot slip into the window)
            return self._start + (self._index + self._n * self._processes) / self.rate
        return slot + self._rng.expovariate(self.own_rate)

    @property
    def handed_out(self) -> int:
        """Slots handed out so far: the last one handed out is number `handed_out - 1` (a trace's entry)."""
        return self._n

    def next_slot(self) -> float:
        """The next scheduled send time; each call hands out a new slot."""
        slot = self._next
        self._n += 1
        self._pending[slot] += 1
        self._next = self._following(slot)
        return slot

    def decide(self, scheduled: float, now: float) -> SlotDecision:
        """Given the slot and the clock when a user is ready to send at it: send (maybe late) or not.

        Not sent: a slot at or after the window's end (not counted: outside the window), or one taken later
        than `max_lateness` (dropped). The send that uses up the request budget closes the window just after it."""
        self._pending[scheduled] -= 1
        if self._pending[scheduled] <= 0:
            del self._pending[scheduled]
        delay = max(0.0, now - scheduled)
        if self.end is not None and scheduled >= self.end:
            return SlotDecision(scheduled, delay, False)
        if self.max_lateness is not None and delay > self.max_lateness:
            self.stats.dropped += 1
            if self.kind == "trace" and self.budget is not None:
                self.budget.claim()  # a trace's entry is used up, sent or dropped: the run ends after the last
                if self.budget.exhausted:
                    self.end = math.nextafter(scheduled, math.inf)
            return SlotDecision(scheduled, delay, False)
        if self.budget is not None and not self.budget.claim():
            self.end = scheduled
            return SlotDecision(scheduled, delay, False)
        if delay > self.late_after:
            self.stats.late += 1
        self.stats.sent += 1
        if self.budget is not None and self.budget.exhausted:
            self.end = math.nextafter(scheduled, math.inf)
        return SlotDecision(scheduled, delay, True)

    def settle(self, stop: float) -> ArrivalStats:
        """At the stop (same clock): count the window's slots that were neither sent nor dropped.

        The window ends at `end` or at `stop`, whichever is first. Call once; the schedule hands out no more."""
        window_end = stop if self.end is None else min(self.end, stop)
        due_waiting = sum(n for slot, n in self._pending.items() if slot < window_end)
        self.stats.not_due_at_stop = sum(self._pending.values()) - due_waiting
        never_taken = 0
        slot = self._next
        while slot < window_end:  # due while every user was busy: never handed out
            never_taken += 1
            self._n += 1
            slot = self._following(slot)
        self._next = slot
        self._pending.clear()
        self.stats.unsent_at_stop = due_waiting + never_taken
        self.stats.slots = self.stats.sent + self.stats.dropped + self.stats.unsent_at_stop
        return self.stats
