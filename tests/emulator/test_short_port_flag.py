"""TGI 3.3 rejects the ambiguous `-p`; the emulator must not accept what TGI refuses."""

from __future__ import annotations

import subprocess
import sys

from tests.fixtures.emulator import free_port


def test_short_p_is_refused_like_tgi_3_3() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.emulator", "-p", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: unexpected argument '-p' found")
