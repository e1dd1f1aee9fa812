"""Open-loop arrival schedules: when each request should be sent, whatever the server is doing.

A closed loop (N users sending back to back) slows down with the server and hides its queueing: coordinated
omission. In an open loop the send times are fixed in advance (constant spacing or a Poisson process), a pool of
users takes the slots in order, and latency is measured from the *scheduled* time, so a late send counts against
the server's latency. A slot taken more than `max_lateness` after its time is dropped and counted, not sent.

With several load processes each takes `rate / processes`: constant schedules are phase-shifted so that together
they are evenly spaced; independent Poisson processes add up to one of the full rate. Pure: the caller passes the
clock readings.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["ArrivalSchedule", "ArrivalStats", "SlotDecision"]

ARRIVAL_KINDS = ("constant", "poisson")


@dataclass(slots=True)
class ArrivalStats:
    """Slots handed out, sent late (beyond `late_after`) and dropped (beyond `max_lateness`)."""

    slots: int = 0
    late: int = 0
    dropped: int = 0


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
    ) -> None:
        if rate <= 0:
            raise ValueError(f"--rate {rate} must be above 0 requests/s")
        if kind not in ARRIVAL_KINDS:
            raise ValueError(f"--arrival {kind!r} is not one of {', '.join(ARRIVAL_KINDS)}")
        if processes < 1 or not 0 <= index < processes:
            raise ValueError(f"process index {index} outside 0..{processes - 1}")
        self.rate = rate
        self.kind = kind
        self.own_rate = rate / processes
        self.max_lateness = max_lateness
        self.late_after = late_after
        self.stats = ArrivalStats()
        self._rng = random.Random(None if seed is None else seed * 1000 + index)
        self._n = 0
        if kind == "constant":
            # process i sends at start + (i + k * processes) / rate: evenly spaced when merged
            self._next = start + index / rate
        else:
            self._next = start + self._rng.expovariate(self.own_rate)
        self._start = start

    def next_slot(self) -> float:
        """The next scheduled send time; each call hands out a new slot."""
        slot = self._next
        self._n += 1
        self.stats.slots += 1
        if self.kind == "constant":
            self._next = slot + 1.0 / self.own_rate
        else:
            self._next = slot + self._rng.expovariate(self.own_rate)
        return slot

    def decide(self, scheduled: float, now: float) -> SlotDecision:
        """Given the slot and the clock when a user is ready to send at it: send (maybe late) or drop."""
        delay = max(0.0, now - scheduled)
        if self.max_lateness is not None and delay > self.max_lateness:
            self.stats.dropped += 1
            return SlotDecision(scheduled, delay, False)
        if delay > self.late_after:
            self.stats.late += 1
        return SlotDecision(scheduled, delay, True)
