"""`orchestrator emulate` serves this project's model by default: every emulator example in README.md and docs/
passes `orchestrator smoke`, run as written (on a free port); `python -m orchestrator.emulator` keeps TGI's defaults."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from orchestrator.cli.emulate_cmd import with_project_defaults
from tests.fixtures.emulator import free_port
from tests.helpers import ORCHESTRATOR, clean_environ, run_orchestrator

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_EXAMPLE = re.compile(
    r"(orchestrator emulate|python -m orchestrator\.emulator|docker run [^`\n]*tgi-orchestrator/emulator:3\.3\.7)"
    r"[^`#\n]*"
)
_MODEL = ["--model-id=TheBloke/Mistral-7B-Instruct-v0.2-AWQ", "--quantize=awq"]
_LIMITS = ["--max-input-tokens=3696", "--max-total-tokens=4096", "--max-batch-prefill-tokens=4096"]


def served_examples() -> list[tuple[str, str]]:
    """(where, command line) of every example that serves the emulator on port 8080."""
    found = []
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for match in _EXAMPLE.finditer(line):
                if "8080" in match.group(0):
                    found.append((f"{doc.name}:{number}", match.group(0).strip()))
    return found


def test_the_readme_names_the_plain_emulate_example() -> None:
    assert ("README.md", "orchestrator emulate --port 8080") in [
        (where.split(":")[0], command) for where, command in served_examples()
    ]


@contextmanager
def _serving(words: list[str], url: str, timeout: float = 90) -> Iterator[None]:
    """Run `words` until the block ends (SIGTERM), once `url` answers /health 200."""
    process = subprocess.Popen(
        words, env=clean_environ(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(f"{words} exited with {process.returncode}: {process.communicate()[1][-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{url} did not become healthy")
            time.sleep(0.2)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _example_words(command: str, port: int, container: str) -> list[str]:
    words = shlex.split(command.replace("127.0.0.1:8080:80", f"127.0.0.1:{port}:80"))
    words = [
        str(port) if word == "8080" and words[i - 1] == "--port" else word for i, word in enumerate(words)
    ]
    head = {"orchestrator": [ORCHESTRATOR], "python": [sys.executable]}.get(words[0], words[:1])
    words = [*head, *words[1:]]
    if words[:2] == ["docker", "run"]:
        words[2:2] = ["--name", container]
    return words


@pytest.mark.parametrize(
    ("where", "command"),
    [
        pytest.param(
            where, command, id=where, marks=[pytest.mark.docker] if command.startswith("docker") else []
        )
        for where, command in served_examples()
    ],
)
def test_every_served_example_passes_smoke(
    where: str, command: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if command.startswith("docker"):
        request.getfixturevalue("emulator_image")  # needs the engine and the image (fails in CI without)
    port, container = free_port(), f"orch-example-{uuid.uuid4().hex[:8]}"
    words = _example_words(command, port, container)
    assert str(port) in " ".join(words), words
    url = f"http://127.0.0.1:{port}"
    try:
        with _serving(words, url):
            smoke = run_orchestrator("smoke", "--url", url, "--json", cwd=tmp_path, timeout=120)
            assert smoke.returncode == 0, f"{where}: {command}\n{smoke.stdout}{smoke.stderr}"
    finally:
        if command.startswith("docker"):
            subprocess.run(["docker", "rm", "-f", container], capture_output=True, timeout=60)


def test_python_m_emulator_keeps_tgis_launcher_defaults(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with _serving([sys.executable, "-m", "orchestrator.emulator", "--port", str(port)], url):
        with urllib.request.urlopen(f"{url}/info", timeout=5) as answer:
            info = json.loads(answer.read())
        smoke = run_orchestrator("smoke", "--url", url, "--json", cwd=tmp_path, timeout=120)
    assert info["model_id"] == "bigscience/bloom-560m"
    assert smoke.returncode == 1 and "model_id is 'bigscience/bloom-560m'" in smoke.stdout


def test_emulate_help_says_what_it_adds() -> None:
    done = run_orchestrator("emulate", "--help", cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "--model-id TheBloke/Mistral-7B-Instruct-v0.2-AWQ" in done.stdout
    assert "python -m orchestrator.emulator` keeps TGI's own launcher defaults" in done.stdout
    assert (
        "Usage: text-generation-launcher [OPTIONS]" in done.stdout
    )  # clap's help, as the launcher prints it


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["--port", "1"], {}, [*_MODEL, *_LIMITS, "--port", "1"]),
        (["--model-id", "x/y"], {}, ["--quantize=awq", *_LIMITS, "--model-id", "x/y"]),
        (["--quantize=gptq"], {"MODEL_ID": "x/y"}, [*_LIMITS, "--quantize=gptq"]),
        (["--max-total-tokens", "8192"], {}, [*_MODEL, "--max-total-tokens", "8192"]),
        ([], {"MAX_INPUT_LENGTH": "100"}, _MODEL),
        (["--max-batch-prefill-tokens=9000"], {}, [*_MODEL, "--max-batch-prefill-tokens=9000"]),
        (
            ["--model-idx", "z"],
            {},
            [*_MODEL, *_LIMITS, "--model-idx", "z"],
        ),  # not --model-id: the parser's to refuse
    ],
)
def test_defaults_fill_only_what_neither_a_flag_nor_its_env_var_sets(
    argv: list[str], environ: dict[str, str], expected: list[str]
) -> None:
    assert with_project_defaults(argv, environ) == expected
