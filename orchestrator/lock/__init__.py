"""Pinned, reproducible starts: the lock file (`orchestrator.lock`), the offline view of the weights cache, and
the comparisons `up --locked` runs. Layer: below the lifecycle (which uses it), above `weights` (whose cache
location it reads) and the runtime (whose image identity it records); the cache layout is read through
`orchestrator.formats.hf_cache`."""
