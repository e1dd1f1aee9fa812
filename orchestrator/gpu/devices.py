"""Whether this host has an NVIDIA driver at all, from its device files: a check cheap enough for `up --dry-run`."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DRIVER_DEVICES", "driver_present"]

DRIVER_DEVICES = ("/dev/nvidiactl", "/dev/dxg")
"""The NVIDIA driver's control device (Linux), or WSL2's GPU device: NVML opens one of them."""


def driver_present(devices: tuple[str, ...] = DRIVER_DEVICES) -> bool:
    """A device file of the NVIDIA driver exists (without one NVML cannot start)."""
    return any(Path(device).exists() for device in devices)
