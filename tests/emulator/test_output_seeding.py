"""Generated text depends on the whole prompt and the request's seed, as a real engine's output would."""

from __future__ import annotations

from typing import Any

from tests.emulator.helpers import post
from tests.fixtures.emulator import EmulatorProcess

TAIL = " ".join(f"word{i}" for i in range(120))  # far more than 64 tokens shared at the end
STARTS = ("1", "2", "3", "4", "5", "6")  # one token each: the prompts differ only in their first token


def _same_length(emulator: EmulatorProcess, prompts: list[str]) -> list[str]:
    lengths = {len(post(emulator.url, "/tokenize", {"inputs": prompt}).json()) for prompt in prompts}
    assert len(lengths) == 1
    return prompts


def _text(emulator: EmulatorProcess, inputs: str, **parameters: Any) -> str:
    reply = post(
        emulator.url, "/generate", {"inputs": inputs, "parameters": {"max_new_tokens": 24, **parameters}}
    )
    assert reply.status == 200, reply.text
    return str(reply.json()["generated_text"])


def test_greedy_depends_on_the_whole_prompt(emulator: EmulatorProcess) -> None:
    first, second = _same_length(emulator, [f"{start}. {TAIL}" for start in STARTS[:2]])
    assert _text(emulator, first) != _text(emulator, second)  # same last 64 tokens, different starts
    assert _text(emulator, first) == _text(emulator, first)  # greedy: the same prompt gives the same text
    assert _text(emulator, first, seed=1) == _text(emulator, first, seed=2)  # greedy ignores the seed


def test_sampling_depends_on_prompt_and_seed(emulator: EmulatorProcess) -> None:
    first, second = _same_length(emulator, [f"{start}. {TAIL}" for start in STARTS[:2]])
    assert _text(emulator, first, do_sample=True, seed=7) == _text(emulator, first, do_sample=True, seed=7)
    assert _text(emulator, first, do_sample=True, seed=7) != _text(emulator, second, do_sample=True, seed=7)
    assert _text(emulator, first, do_sample=True, seed=7) != _text(emulator, first, do_sample=True, seed=8)
    unseeded = {_text(emulator, first, do_sample=True) for _ in range(3)}
    assert len(unseeded) == 3  # a sampling engine draws a fresh seed per request
    assert _text(emulator, first, do_sample=True, seed=7) != _text(emulator, first)  # sampled is not greedy


def test_eos_stops_distinct_prompts_at_different_points(emulator_factory: Any) -> None:
    process = emulator_factory("--emulator-eos-rate", "0.2")
    lengths = set()
    for prompt in _same_length(process, [f"{start}. {TAIL}" for start in STARTS]):
        reply = post(process.url, "/generate", {"inputs": prompt,
                                                "parameters": {"max_new_tokens": 64, "details": True}})  # fmt: skip
        lengths.add(reply.json()["details"]["generated_tokens"])
    assert len(lengths) > 1  # not one lockstep stop for every prompt of the same length
