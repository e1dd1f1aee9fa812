"""Prompts: exact Mistral token lengths, distributions, unique prefixes, JSONL sources."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

from orchestrator.load.datasets import PromptFile
from orchestrator.load.prompts import PromptError, SyntheticPrompts, parse_distribution
from orchestrator.tokens import format_chat, format_prompt, get_tokenizer


@pytest.mark.parametrize("length", [19, 20, 64, 257, 1000])
def test_synthetic_prompts_have_exact_server_token_counts(length: int) -> None:
    prompts = SyntheticPrompts(parse_distribution(str(length)), parse_distribution("16"), seed=1)
    tok = get_tokenizer()
    for _ in range(5):
        spec = prompts.next()
        assert spec.input_tokens == length
        assert tok.count(spec.as_inputs()) == length  # /generate: BOS + [INST] ... [/INST]
        assert tok.count(format_chat(spec.as_messages()), add_bos=False) == length  # chat route
        assert spec.max_new_tokens == 16


def test_unique_prefix_per_request_unless_shared() -> None:
    unique = SyntheticPrompts(parse_distribution("64"), parse_distribution("8"), seed=2)
    texts = {unique.next().text for _ in range(50)}
    assert len(texts) == 50
    shared = SyntheticPrompts(parse_distribution("64"), parse_distribution("8"), unique_prefix=False, seed=2)
    assert len({shared.next().text for _ in range(10)}) == 1


def test_random_request_numbers_keep_the_length() -> None:
    prompts = SyntheticPrompts(parse_distribution("uniform:30,300"), parse_distribution("8"), seed=5)
    tok = get_tokenizer()
    for _ in range(40):
        spec = prompts.next()
        assert 30 <= (spec.input_tokens or 0) <= 300
        assert tok.count(spec.as_inputs()) == spec.input_tokens


def test_too_short_fixed_length_is_refused() -> None:
    with pytest.raises(PromptError, match="--input-tokens 5 is below"):
        SyntheticPrompts(parse_distribution("5"), parse_distribution("8"))


def test_distributions() -> None:
    rng = random.Random(0)
    assert parse_distribution("fixed:12").sample(rng) == 12
    u = parse_distribution("uniform:10,20")
    draws = [u.sample(rng) for _ in range(500)]
    assert min(draws) == 10 and max(draws) == 20
    n = parse_distribution("normal:100,30,80,120")
    draws = [n.sample(rng) for _ in range(2000)]
    assert min(draws) == 80 and max(draws) == 120
    assert 95 < sum(draws) / len(draws) < 105
    for bad in ("uniform:5", "normal:1", "fixed:0", "gauss:1,2", "abc"):
        with pytest.raises(PromptError, match="use 128"):
            parse_distribution(bad)


def test_jsonl_prompts_and_conversations(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    lines = [
        {"prompt": "Tell me a joke", "max_new_tokens": 7},
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
                      {"role": "user", "content": "Bye"}]},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    source = PromptFile(path, parse_distribution("33"))
    tok = get_tokenizer()
    a, b, c = source.next(), source.next(), source.next()
    assert a.max_new_tokens == 7 and a.input_tokens == tok.count(a.as_inputs())
    assert b.max_new_tokens == 33 and b.messages is not None
    assert b.input_tokens == tok.count(b.as_inputs())  # TGI adds BOS to the templated conversation
    assert c.text == a.text  # round robin


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "line 1 is not JSON"),
        ('{"other": 1}', "needs a string 'prompt'"),
        ('{"messages": [{"role": "assistant", "content": "x"}]}', "roles must alternate"),
        ('{"prompt": "x", "max_new_tokens": 0}', "must be a positive integer"),
        ("", "holds no prompts"),
    ],
)
def test_bad_jsonl_names_file_line_and_fix(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(PromptError, match=message):
        PromptFile(path, parse_distribution("8"))


def _shared_prefix(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


@pytest.mark.parametrize("lengths", ["256", "uniform:80,400"])
def test_synthetic_prompts_differ_at_their_beginning_and_their_end(lengths: str) -> None:
    """Item 22: no two prompts share their first or last 64 tokens (a prefix cache, dedup or an engine seeding
    from the prompt cannot treat one like another), and consecutive ones diverge right after the template."""
    prompts = SyntheticPrompts(parse_distribution(lengths), parse_distribution("8"), seed=3, max_tokens=600)
    tok = get_tokenizer()
    specs = [prompts.next() for _ in range(300)]
    ids = [tok.encode(spec.as_inputs()) for spec in specs]
    assert [len(x) for x in ids] == [spec.input_tokens for spec in specs]  # exact counts, real tokenizer
    assert len({tuple(x[:64]) for x in ids}) == len(ids)
    assert len({tuple(x[-64:]) for x in ids}) == len(ids)
    template = _shared_prefix(tok.encode(format_prompt("Request 0")), tok.encode(format_prompt("Request 9")))
    shared_digits = sorted(_shared_prefix(a, b) - template for a, b in itertools.pairwise(ids))
    assert shared_digits[len(shared_digits) // 2] == 0  # the first digit of the number already differs


def test_long_prompts_keep_exact_counts_at_every_window() -> None:
    prompts = SyntheticPrompts(parse_distribution("600"), parse_distribution("8"), seed=4, max_tokens=600)
    tok = get_tokenizer()
    assert all(tok.count(prompts.next().as_inputs()) == 600 for _ in range(40))
