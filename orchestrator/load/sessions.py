"""Multi-turn sessions (`--turns T --think-time S`): a user keeps one conversation for T turns.

Turn 1 is a prompt from the run's source (synthetic, `--dataset`, with its `--shared-prefix-tokens` prefix). Each
later turn sends the whole conversation so far: every earlier user turn and the server's **real** reply to it (the
text it streamed, not a stand-in), then a new user turn, rendered by the model's chat template (the chat route
sends the messages; the native routes send `format_chat` of them, as TGI's chat route would). The new user turn is
the conversation's next human turn when the dataset has one (ShareGPT), else a synthetic one of `--input-tokens`.
Between turns the user waits the think time (a user reading the answer); a failed turn ends the session (there is
no reply to build on) and the next request opens a new one. Each sample carries its turn index, so TTFT is
reported per turn: later turns carry longer prompts. Later turns are not counted with the tokenizer (that would
cost the load process CPU per request): their input length is the server's count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.load.prompts import PromptError, PromptSpec

__all__ = ["Opening", "Session", "SessionPlan"]

Opening = Callable[[int | None], tuple[PromptSpec, tuple[str, ...]]]
"""Turn 1 of a new session (given the arrival slot's number, or None): its prompt and the follow-up user turns the
source holds for it (ShareGPT's later human turns; none otherwise)."""


@dataclass(frozen=True, slots=True)
class SessionPlan:
    turns: int = 1
    think_time_s: float = 0.0

    def check(self) -> None:
        if self.turns < 1:
            raise PromptError(f"--turns {self.turns}: must be at least 1 (1 = single requests)")
        if self.think_time_s < 0:
            raise PromptError(f"--think-time {self.think_time_s:g}: must be 0 or more seconds")

    @property
    def multi_turn(self) -> bool:
        return self.turns > 1

    def describe(self) -> dict[str, Any]:
        return {
            "turns": self.turns,
            "think_time_s": self.think_time_s,
            "meaning": "each user keeps a conversation for `turns` turns, sending every earlier turn and the "
            "server's real reply, with the think time between turns; figures per turn in figures_by_turn"
            if self.multi_turn
            else "single requests (no sessions)",
        }


class Session:
    """One user's conversation: the next turn's prompt, and the reply that extends it."""

    __slots__ = ("_follow_ups", "_history", "_opening", "_synthetic", "plan", "turn")

    def __init__(self, plan: SessionPlan, opening: Opening, synthetic: Callable[[], PromptSpec]) -> None:
        self.plan = plan
        self._opening = opening
        self._synthetic = synthetic
        self._history: list[dict[str, Any]] = []
        self._follow_ups: list[str] = []
        self.turn = 0
        """the turn just sent (1..turns); 0: the next request opens a new session"""

    @property
    def wants_reply(self) -> bool:
        return self.plan.multi_turn

    def next(self, slot: int | None = None) -> PromptSpec:
        """The next request's prompt: a new session's first turn, or the conversation so far plus a user turn."""
        if self.turn == 0:
            spec, follow_ups = self._opening(slot)
            self.turn = 1
            if self.plan.multi_turn:
                self._history = spec.as_messages()
                self._follow_ups = list(follow_ups)
            return spec
        fresh = self._synthetic()
        text = self._follow_ups.pop(0) if self._follow_ups else (fresh.text or "")
        self._history.append({"role": "user", "content": text})
        self.turn += 1
        return PromptSpec(None, tuple(self._history), None, fresh.max_new_tokens, fresh.number)

    def answered(self, reply: str | None) -> float:
        """The turn's reply (None: it failed); returns the think time to wait before the next turn (0: the next
        request opens a new session)."""
        if reply is None or self.turn >= self.plan.turns:
            self.turn = 0
            self._history = []
            return 0.0
        self._history.append({"role": "assistant", "content": reply})
        return self.plan.think_time_s
