"""`SetTrail.interrupted`: what Ctrl-C during a multi-replica `up` leaves, asked of the engine, also when a
second Ctrl-C cuts a removal short."""

from __future__ import annotations

from orchestrator.deploy.replica_wait import SetTrail
from orchestrator.runtime.containers import ContainerInfo


class _Engine:
    """Containers by name; the first `cuts` removals are cut short by a further Ctrl-C after reaching the engine
    (the engine removes the container anyway, as Docker does once the request is sent)."""

    def __init__(self, names: list[str], cuts: int = 0, stuck: str = "") -> None:
        self.names = set(names)
        self.cuts = cuts
        self.stuck = stuck
        self.secrets_removed: list[str] = []

    def remove(self, name: str, *, force: bool = False) -> None:
        if name != self.stuck:
            self.names.discard(name)
        if self.cuts:
            self.cuts -= 1
            raise KeyboardInterrupt

    def remove_secrets(self, name: str) -> None:
        self.secrets_removed.append(name)

    def inspect(self, name: str) -> ContainerInfo | None:
        if name not in self.names:
            return None
        return ContainerInfo(name, name, "img", "running", None, True, "", None, None, 0, None, {})


def _trail(engine: _Engine, names: list[str]) -> SetTrail:
    trail = SetTrail()
    trail.engine = engine  # type: ignore[assignment]
    trail.created = list(names)
    return trail


NAMES = ["s-replica-1", "s-replica-2", "s"]


def test_every_created_container_is_removed_with_its_secrets() -> None:
    engine = _Engine(NAMES)
    left = _trail(engine, NAMES).interrupted()
    assert left.left == "the 3 container(s) this up created were removed; nothing is left"
    assert left.leftover is None and engine.names == set() and engine.secrets_removed == NAMES


def test_a_second_ctrl_c_during_a_removal_is_answered_by_asking_again() -> None:
    engine = _Engine(NAMES, cuts=1)
    left = _trail(engine, NAMES).interrupted()
    assert left.left.endswith("nothing is left") and left.leftover is None
    assert engine.secrets_removed == NAMES  # the cut-short removal still got to its secret files


def test_ctrl_c_that_keeps_cutting_the_removal_names_what_may_be_left() -> None:
    engine = _Engine(NAMES, cuts=2, stuck="s-replica-1")
    left = _trail(engine, NAMES).interrupted()
    assert left.left == "containers s-replica-1 may be left (they could not be removed)"
    assert left.leftover == "s-replica-1" and engine.names == {"s-replica-1"}
