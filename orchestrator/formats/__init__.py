"""Wire formats the engines speak, parsed once: Prometheus text and server-sent events; and the Hugging Face
cache layout on disk (`hf_cache`), which the host and the engine read alike."""
