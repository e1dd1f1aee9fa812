"""The OpenAPI document the emulator ships is TGI's own 3.3.7 spec, byte for byte."""

from __future__ import annotations

from tests.emulator.helpers import REFERENCE_SPEC, SHIPPED_SPEC
from tests.fixtures.docker_engine import require_or_skip


def test_shipped_spec_is_the_reference() -> None:
    if not REFERENCE_SPEC.exists():
        require_or_skip(f"reference spec not found at {REFERENCE_SPEC}")
    assert SHIPPED_SPEC.read_bytes() == REFERENCE_SPEC.read_bytes()
