"""Wire formats the engines speak, parsed once: Prometheus text and server-sent events."""
