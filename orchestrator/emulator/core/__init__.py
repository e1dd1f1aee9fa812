"""The engine-neutral emulator: what any serving engine's front-end builds on, knowing no engine's protocol.

`engine` (continuous batching on a latency profile, reporting to a `SchedulerObserver`), `generation` (one sequence's
tokens and stopping), `vocab` (the real tokenizer's output pieces), `latency` (GPU profiles), `faults` (seeded fault
plans, named by kind), `metrics` (a Prometheus registry), `http` (raw ASGI responses), `arrival` (request arrival
stamps) and `serve` (uvicorn, signals, start-up phase timing and drain). It never imports a front-end.
"""
