"""`python -m orchestrator.emulator [text-generation-launcher flags]`."""

from __future__ import annotations

import sys

from orchestrator.emulator.tgi.server import main

if __name__ == "__main__":
    sys.exit(main())
