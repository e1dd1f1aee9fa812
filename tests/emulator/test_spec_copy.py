"""The OpenAPI document the emulator ships is TGI's own 3.3.7 spec, byte for byte.

The shipped copy is the source: a plain clone checks it against the digest recorded when it was copied from TGI
v3.3.7, with nothing outside the checkout. Where TGI's spec is present beside the checkout (developer machines,
or `TGI_OPENAPI_SPEC`), the copy is also compared with it byte for byte; its absence is no failure.
"""

from __future__ import annotations

import hashlib
import json

from tests.emulator.helpers import REFERENCE_SPEC, SHIPPED_SPEC

TGI_3_3_7_SPEC_SHA256 = "2b7899d65399cd86c393e6fb1fa4b028e678298d570a0a11ddbd8709894a159c"
"""SHA-256 of TGI v3.3.7's `docs/openapi.json`, the file the emulator ships unchanged."""


def test_shipped_spec_is_tgi_3_3_7_spec() -> None:
    shipped = SHIPPED_SPEC.read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == TGI_3_3_7_SPEC_SHA256
    assert json.loads(shipped)["info"]["title"] == "Text Generation Inference"
    if REFERENCE_SPEC.exists():  # optional: only where TGI's spec lies beside the checkout
        assert shipped == REFERENCE_SPEC.read_bytes()
