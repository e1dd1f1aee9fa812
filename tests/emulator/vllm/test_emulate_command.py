"""`orchestrator emulate --engine vllm [vllm serve arguments]` serves this project's model unless told otherwise."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request

from orchestrator.cli.emulate_cmd import with_vllm_project_defaults
from tests.fixtures.emulator import VLLM_MODEL, free_port
from tests.helpers import ORCHESTRATOR, clean_environ


def test_the_projects_model_goes_first_only_when_none_is_named() -> None:
    assert with_vllm_project_defaults(["--port", "1"]) == [VLLM_MODEL, "--port", "1"]
    assert with_vllm_project_defaults(["x/y", "--port", "1"]) == ["x/y", "--port", "1"]
    assert with_vllm_project_defaults(["--model", "x/y"]) == ["--model", "x/y"]
    assert with_vllm_project_defaults(["--swap-space", "4"]) == ["--swap-space", "4"]  # vLLM's to refuse


def test_emulate_engine_vllm_serves_the_openai_api() -> None:
    port = free_port()
    process = subprocess.Popen([ORCHESTRATOR, "emulate", "--engine", "vllm", "--port", str(port), "--host",
                                "127.0.0.1"], env=clean_environ(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as answer:
                    models = json.loads(answer.read())
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert [card["id"] for card in models["data"]] == [VLLM_MODEL]
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert "vLLM server version 0.33.0, serving model TheBloke/Mistral-7B-Instruct-v0.2-AWQ" in output
