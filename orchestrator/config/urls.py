"""Where a published port is reached from this host: one rule for settings, deployments and clients."""

from __future__ import annotations

__all__ = ["endpoint_for"]

_WILDCARD_V4 = {"", "0.0.0.0"}


def endpoint_for(bind_address: str, port: int | None) -> str:
    """Base URL of a port published on `bind_address`: wildcards map to loopback (`::` to `[::1]`)."""
    if bind_address in _WILDCARD_V4:
        host = "127.0.0.1"
    elif bind_address == "::":
        host = "::1"
    else:
        host = bind_address
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
