"""`python -m orchestrator.emulator.vllm serve MODEL [flags]`: the emulator as the `vllm` command."""

from __future__ import annotations

import sys

from orchestrator.emulator.vllm.server import main

if __name__ == "__main__":
    sys.exit(main())
