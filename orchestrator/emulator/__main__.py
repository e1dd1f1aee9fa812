"""`python -m orchestrator.emulator [--engine tgi|vllm] [the engine's own arguments]`.

TGI (the default) takes text-generation-launcher flags; `--engine vllm` takes what follows `vllm serve`
(`MODEL [flags]`).
"""

from __future__ import annotations

import sys

from orchestrator.emulator import main

if __name__ == "__main__":
    sys.exit(main())
