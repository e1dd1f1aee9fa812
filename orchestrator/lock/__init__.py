"""Pinned, reproducible starts: the lock file (`orchestrator.lock`), the offline view of the weights cache, and
the comparisons `up --locked` runs. Sits between the lifecycle (which uses it) and the runtime (whose image
identity it records); reads the cache layout through `orchestrator.formats.hf_cache`."""
