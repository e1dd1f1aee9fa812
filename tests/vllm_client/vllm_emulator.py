"""The vLLM emulator personality as a real process (`python -m orchestrator.emulator.vllm serve MODEL ...`) on a
free loopback port, started as the `vllm` command would be; reuses the TGI fixture's lifecycle and log capture."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.fixtures.emulator import EmulatorProcess

MODEL = "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"
MAX_MODEL_LEN = 4096


class VllmEmulator(EmulatorProcess):
    """`vllm serve MODEL --max-model-len 4096 [args]` as the emulator; ready once `/health` answers 200."""

    def start(self) -> VllmEmulator:
        handle, path = tempfile.mkstemp(prefix="vllm-emulator-", suffix=".log")
        os.close(handle)
        self._log_path = Path(path)
        self._log_file = open(path, "wb")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, **self.extra_env, "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "orchestrator.emulator.vllm", "serve", MODEL, "--host", "127.0.0.1",
                   "--port", str(self.port), "--max-model-len", str(MAX_MODEL_LEN), *self.args]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=self._log_file, stderr=subprocess.STDOUT, env=env)
        if self.wait_ready:
            self.wait_until_ready(self.ready_timeout)
        return self
