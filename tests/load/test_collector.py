"""Merging exact samples from several workers gives the same figures as one process holding them all."""

from __future__ import annotations

import random

from orchestrator.load.collector import SampleCollector
from orchestrator.load.figures import Sample, summarize


def make(rng: random.Random, i: int) -> Sample:
    ttft = rng.uniform(0.01, 0.5)
    return Sample("stream", rng.random() > 0.05, float(i), e2e=ttft + 1, ttft=ttft, last_token=ttft + 0.9,
                  token_events=10, output_tokens=10)  # fmt: skip


def test_drained_reports_merge_to_the_union() -> None:
    rng = random.Random(11)
    workers = [SampleCollector(worker=w) for w in range(3)]
    master = SampleCollector()
    union: list[Sample] = []
    for round_ in range(4):  # several stats reports per worker, as Locust sends them
        for w in workers:
            for i in range(rng.randint(0, 30)):
                s = make(rng, round_ * 100 + i)
                w.add(s)
                union.append(s)
            w.arrivals.update(slots=w.arrivals["slots"] + 5, late=w.arrivals["late"] + 1)
            master.merge(w.drain())
    for w in workers:
        master.merge(w.drain())  # the final report carries nothing new: no double counting
    assert len(master.samples) == len(union)
    assert summarize(master.samples) == summarize(union)
    assert {k: master.arrivals[k] for k in ("slots", "late", "dropped")} == {
        "slots": 60,
        "late": 12,
        "dropped": 0,
    }
    assert master.workers_seen == {0, 1, 2}
    assert sorted(s.worker for s in master.samples) == sorted(s.worker for s in union)


def test_token_check_counts_eos_and_reports_ratio() -> None:
    c = SampleCollector()
    c.add_text(3, " Hello world", False)  # "Hello", " world" -> 2 tokens (leading space dropped): 1 off
    c.add_text(3, "Hello world", True)  # + EOS -> 3 tokens: exact
    c.run_token_check()
    part = c.drain()
    master = SampleCollector()
    master.merge(part)
    check = master.token_check
    assert (check.requests, check.server_tokens, check.tokenizer_tokens, check.abs_difference) == (2, 6, 5, 1)
    assert check.to_dict()["above_1_percent"] is True
