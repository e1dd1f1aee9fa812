"""Workloads without a server: dataset formats and their errors, prefix groups with the real tokenizer, sessions,
trace files and the trace's arrival schedule, and the options that exclude each other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.load.arrivals import ArrivalSchedule
from orchestrator.load.datasets import DatasetPrompts, InputLimits, server_limits
from orchestrator.load.declaration import LoadArgs
from orchestrator.load.limits import RequestBudget
from orchestrator.load.options import LoadOptionError, LoadOptions
from orchestrator.load.prefixes import PrefixGroups, PrefixPlan
from orchestrator.load.prompts import PromptError, PromptSpec, SyntheticPrompts, parse_distribution
from orchestrator.load.sessions import Session, SessionPlan
from orchestrator.load.trace import read_trace
from orchestrator.load.workload import Workload
from orchestrator.tokens import format_chat, format_prompt, get_tokenizer

PROMPT = {"prompt": "Tell me a joke about cats", "max_new_tokens": 12}
MESSAGES = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "Four, of course it is four."},
    ]
}
SHAREGPT = {
    "conversations": [
        {"from": "human", "value": "Hello there, who are you?"},
        {"from": "gpt", "value": "I am an assistant here to help you today."},
        {"from": "human", "value": "Tell me more."},
        {"from": "gpt", "value": "ok"},
        {"from": "human", "value": "And then?"},
    ]
}


def write_jsonl(path: Path, items: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in items))
    return path


def test_each_dataset_format_gives_its_prompt_and_output_length(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [PROMPT, MESSAGES, SHAREGPT, {"conversations": []}])
    source = DatasetPrompts(path, parse_distribution("33"), seed=1)
    tok = get_tokenizer()
    rows = {row.format: row for row in source.rows}
    assert set(rows) == {"prompt", "messages", "sharegpt"} and source.no_user_turn == 1
    prompt, messages, sharegpt = rows["prompt"].spec, rows["messages"].spec, rows["sharegpt"].spec
    assert prompt.max_new_tokens == 12 and prompt.input_tokens == tok.count(prompt.as_inputs())
    # the trailing assistant message is the reference answer: not sent, its length is the output length
    assert messages.messages is not None and [m["role"] for m in messages.messages] == ["system", "user"]
    assert messages.max_new_tokens == tok.count("Four, of course it is four.", add_bos=False)
    assert messages.input_tokens == tok.count(format_chat(messages.messages), add_bos=False)
    # ShareGPT: the first human turn, its reply's length, the later human turns kept for sessions
    assert sharegpt.text == "Hello there, who are you?"
    assert sharegpt.max_new_tokens == tok.count("I am an assistant here to help you today.", add_bos=False)
    assert rows["sharegpt"].follow_ups == ("Tell me more.", "And then?")
    assert sharegpt.input_tokens == tok.count(format_prompt(sharegpt.text))


def test_output_lengths_from_the_flags_when_asked_or_when_the_line_has_none(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [PROMPT, {"prompt": "no length here"}])
    from_file = DatasetPrompts(path, parse_distribution("33"), seed=1)
    assert sorted(from_file.next().max_new_tokens for _ in range(2)) == [12, 33]
    from_flags = DatasetPrompts(path, parse_distribution("33"), output_from="flags", seed=1)
    assert {from_flags.next().max_new_tokens for _ in range(4)} == {33}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2 is not JSON"),
        ("[1, 2]", "line 2: expected an object"),
        ('{"other": 1}', "line 2: needs a string 'prompt', a list 'messages' or a list 'conversations'"),
        ('{"messages": [{"role": "assistant", "content": "x"}]}', "line 2: .*roles must alternate"),
        ('{"messages": ["hi"]}', "line 2: 'messages' must be a list"),
        ('{"conversations": [{"from": "human"}]}', "line 2: 'conversations' must be a list"),
        ('{"conversations": [{"from": "robot", "value": "x"}]}', "line 2: unknown speaker 'robot'"),
        ('{"prompt": "x", "max_new_tokens": 0}', "line 2: max_new_tokens 0 must be a positive integer"),
    ],
)
def test_a_malformed_line_names_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [PROMPT, line])
    with pytest.raises(PromptError, match=f"--dataset '{path}' {message}" if "JSON" in message else message):
        DatasetPrompts(path, parse_distribution("8"))


def test_prompts_over_the_servers_limits_are_skipped_and_counted(tmp_path: Path) -> None:
    long = {"prompt": "word " * 400, "max_new_tokens": 4}
    wide = {"prompt": "short", "max_new_tokens": 300}
    path = write_jsonl(tmp_path / "d.jsonl", [PROMPT, long, wide])
    limits = InputLimits(max_input_tokens=100, max_total_tokens=200)
    source = DatasetPrompts(path, parse_distribution("8"), limits=limits, seed=2)
    assert source.skipped_over_limit == 2 and len(source) == 1
    assert all(source.next().text == PROMPT["prompt"] for _ in range(3))
    assert source.describe()["skipped_over_limit"] == 2
    with pytest.raises(PromptError, match="all 1 prompts exceed the server's limits"):
        DatasetPrompts(write_jsonl(tmp_path / "l.jsonl", [long]), parse_distribution("8"), limits=limits)
    assert server_limits(b'{"max_input_tokens": 3696, "max_total_tokens": 4096}') == InputLimits(3696, 4096)
    assert server_limits(b'{"max_input_length": 10}') == InputLimits(10, None)
    assert server_limits(None) == InputLimits() and server_limits(b"oops") == InputLimits()


def test_the_order_is_seeded_and_processes_share_each_pass(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"prompt": f"question {i}"} for i in range(20)])

    def order(seed: int, index: int = 0, processes: int = 1, n: int = 20) -> list[int]:
        src = DatasetPrompts(path, parse_distribution("8"), seed=seed, index=index, processes=processes)
        return [src.next().number or 0 for _ in range(n)]

    assert order(7) == order(7) != order(8)
    assert sorted(order(7)) == list(range(1, 21))  # one pass: every row once
    halves = order(7, 0, 2, 10) + order(7, 1, 2, 10)
    assert sorted(halves) == list(range(1, 21))  # two processes together: each row once per pass


def test_prefix_groups_are_exactly_k_real_tokens_shared_within_a_group() -> None:
    tok = get_tokenizer()
    template = len(tok.encode("[INST]"))  # BOS + `[INST]`, before the user text
    prompts = SyntheticPrompts(parse_distribution("64"), parse_distribution("8"), seed=3)
    groups = PrefixGroups(PrefixPlan(tokens=50, groups=3))
    specs = [groups.apply(prompts.next()) for _ in range(9)]
    ids = [tok.encode(s.as_inputs()) for s in specs]
    assert [len(x) for x in ids] == [s.input_tokens for s in specs] == [114] * 9  # 64 + exactly 50
    heads = [tuple(x[template : template + 50]) for x in ids]
    assert heads[0] == heads[3] == heads[6] and heads[1] == heads[4] and heads[2] == heads[5]
    assert len(set(heads)) == 3
    assert len({h[0] for h in heads}) == 3  # groups differ from their first token
    assert len({x[template + 50 : template + 60] for x in map(tuple, ids)}) == 9  # then each prompt its own


def test_as_many_groups_as_requests_share_no_prefix_and_conversations_get_it_first() -> None:
    groups = PrefixGroups(PrefixPlan(tokens=8, groups=500))
    tok = get_tokenizer()
    spec = PromptSpec(None, ({"role": "system", "content": "S"}, {"role": "user", "content": "U"}), 10, 4)
    firsts = set()
    for _ in range(500):
        grown = groups.apply(spec)
        assert grown.input_tokens == 18 and grown.messages is not None
        firsts.add(tok.encode(str(grown.messages[0]["content"]), add_bos=False)[0])
    assert len(firsts) == 500
    for bad, message in [
        ((-1, 1), "must be 0"),
        ((0, 4), "needs --shared-prefix-tokens"),
        ((4, 0), "at least 1"),
    ]:
        with pytest.raises(PromptError, match=message):
            PrefixPlan(*bad).check()


def test_a_session_sends_the_conversation_so_far_with_each_real_reply() -> None:
    openings = iter(
        [(PromptSpec("first", None, 9, 5, 1), ("second",)), (PromptSpec("again", None, 9, 5, 2), ())]
    )
    synthetic = iter(PromptSpec(f"synthetic {i}", None, 9, 6, 10 + i) for i in range(10))
    session = Session(
        SessionPlan(turns=3, think_time_s=0.5), lambda slot: next(openings), lambda: next(synthetic)
    )
    assert session.next().text == "first" and session.turn == 1
    assert session.answered("reply one") == 0.5
    two = session.next()
    assert two.messages is not None and session.turn == 2 and two.input_tokens is None
    assert [m["content"] for m in two.messages] == ["first", "reply one", "second"]
    assert session.answered("reply two") == 0.5
    three = session.next()
    assert three.messages is not None
    assert [m["content"] for m in three.messages][-2:] == ["reply two", "synthetic 1"]
    assert session.answered("reply three") == 0.0  # the last turn: the next request opens a new session
    assert session.next().text == "again"
    assert session.answered(None) == 0.0 and session.turn == 0  # a failed turn ends the session


def test_trace_files_by_offset_or_timestamp_with_errors_naming_the_line(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "t.jsonl",
        [{"timestamp": 1500, "input_length": 40, "output_length": 5}, {"timestamp": 1000, "input_tokens": 30},
         {"timestamp": 2000, "prompt": "hello", "max_new_tokens": 3}],
    )  # fmt: skip
    entries = read_trace(path)
    assert [(e.offset_s, e.line) for e in entries] == [(0.0, 2), (0.5, 1), (1.0, 3)]
    assert entries[2].spec is not None and entries[2].output_tokens == 3
    for line, message in [
        ('{"input_tokens": 5}', "line 1: needs an arrival 'offset'"),
        ('{"offset": -1, "input_tokens": 5}', "line 1: offset -1 must be a number of at least 0"),
        ('{"offset": 1}', "line 1: needs 'input_tokens'"),
        ('{"offset": 1, "input_tokens": 0}', "line 1: input_tokens 0 must be a positive integer"),
        ("{", "line 1 is not JSON"),
    ]:
        with pytest.raises(PromptError, match=message):
            read_trace(write_jsonl(tmp_path / "bad.jsonl", [line]))


def test_the_trace_schedule_sends_at_the_offsets_and_ends_after_the_last() -> None:
    budget = RequestBudget(3)
    schedule = ArrivalSchedule(0, start=100.0, offsets=[0.0, 0.25, 0.25], budget=budget, max_lateness=1.0)
    slots = [schedule.next_slot() for _ in range(3)]
    assert slots == [100.0, 100.25, 100.25] and schedule.handed_out == 3
    assert [schedule.decide(s, s + 0.001).send for s in slots] == [True, True, True]
    assert budget.exhausted and not schedule.decide(schedule.next_slot(), 200.0).send
    late = ArrivalSchedule(0, start=0.0, offsets=[0.0, 1.0], budget=RequestBudget(2), max_lateness=0.5)
    assert not late.decide(late.next_slot(), 2.0).send  # dropped: its entry is used up all the same
    assert late.decide(late.next_slot(), 1.0).send and late.budget is not None and late.budget.exhausted


def test_a_trace_workload_gives_each_process_its_entries(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"offset": i * 0.1, "input_tokens": 30 + i} for i in range(5)])
    options = LoadOptions.from_args(LoadArgs(trace=str(path), time_scale=2.0))
    assert options.open_loop
    one, two = (Workload(options, worker=w, processes=2) for w in (0, 1))
    assert one.trace_offsets == pytest.approx([0.0, 0.4, 0.8]) and two.trace_offsets == pytest.approx(
        [0.2, 0.6]
    )
    assert [one.opening(n)[0].input_tokens for n in range(3)] == [30, 32, 34]
    assert one.describe()["trace"]["entries_read"] == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"dataset": "d", "prompts_file": "d"}, "keep one"),
        ({"trace": "d", "rate": 2.0}, "drop --rate"),
        ({"trace": "d", "turns": 2}, "single requests"),
        ({"shared_prefix": True, "shared_prefix_tokens": 4}, "keep one"),
        ({"turns": 0}, "--turns 0"),
        ({"prefix_groups": 3}, "needs --shared-prefix-tokens"),
        ({"dataset": "missing.jsonl"}, "--dataset 'missing.jsonl' does not exist"),
    ],
)
def test_options_that_exclude_each_other(tmp_path: Path, args: dict[str, Any], message: str) -> None:
    real = str(write_jsonl(tmp_path / "d.jsonl", [PROMPT]))
    given = {k: (real if v == "d" else v) for k, v in args.items()}
    with pytest.raises(LoadOptionError, match=message):
        LoadOptions.from_args(LoadArgs(**given))


def test_server_limits_read_vllms_model_card() -> None:
    body = b'{"object": "list", "data": [{"id": "m", "object": "model", "max_model_len": 4096}]}'
    # a prompt must be shorter than max_model_len; vLLM clamps the output, so no total is skipped on
    assert server_limits(body) == InputLimits(4095, None)
    assert server_limits(b'{"object": "list", "data": []}') == InputLimits()
