"""Fuzz every route of TGI 3.3.7's OpenAPI spec against the emulator, run as a real process (by hand; not in CI).

    pip install schemathesis   # not a project dependency
    python scripts/fuzz_emulator.py [--max-examples 50] [--seed N]

Starts `python -m orchestrator.emulator` on a free port, runs schemathesis (`st run`, positive and negative data,
every phase) over the spec the emulator ships, with two checks: no 5xx (`not_a_server_error`) and
`tgi_status_codes` (only codes TGI 3.3.7 itself gives on that route). Exit status: schemathesis's (0 = no finding).

The spec is OpenAPI 3.0 with JSON-Schema-2020 `exclusiveMinimum: <number>` (utoipa's output), which schemathesis
cannot generate from; those bounds are turned into 3.0's form (`minimum` + `exclusiveMinimum: true`) first.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "orchestrator" / "emulator" / "openapi.json"

# What TGI 3.3.7 answers per route: the handler's codes plus axum's rejections (400 syntax, 413 size, 415 type,
# 422 data) and 404/405 for paths and methods it does not route.
_GENERATION = {200, 400, 413, 415, 422, 424, 429}
ALLOWED: dict[str, set[int]] = {
    "/": _GENERATION, "/generate": _GENERATION, "/generate_stream": _GENERATION, "/invocations": _GENERATION,
    "/v1/chat/completions": _GENERATION, "/v1/completions": _GENERATION,
    "/tokenize": {200, 400, 404, 413, 415, 422}, "/chat_tokenize": {200, 400, 404, 413, 415, 422},
    "/health": {200, 503}, "/info": {200}, "/metrics": {200}, "/v1/models": {200},
}  # fmt: skip

try:
    import schemathesis

    @schemathesis.check
    def tgi_status_codes(ctx: Any, response: Any, case: Any) -> bool | None:
        """A status code TGI 3.3.7 itself could answer for this route and method."""
        allowed = ALLOWED.get(case.operation.path, set()) | {404, 405}
        if response.status_code not in allowed:
            raise AssertionError(
                f"{case.method} {case.operation.path} answered {response.status_code}, which TGI never does "
                f"(allowed: {sorted(allowed)}): {response.content[:300]!r}"
            )
        return None

except ImportError:  # only the hooks need it; main() says how to install it
    schemathesis = None  # type: ignore[assignment]


def _fix_bounds(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _fix_bounds(v) for k, v in node.items()}
        for bound, keyword in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            value = out.get(bound)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[keyword] = value
                out[bound] = True
        return out
    if isinstance(node, list):
        return [_fix_bounds(v) for v in node]
    return node


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the emulator exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the emulator was not healthy on {url} after {timeout} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--max-examples", type=int, default=50, help="examples per operation and phase")
    parser.add_argument("--seed", type=int, default=10, help="schemathesis seed (same seed, same requests)")
    args = parser.parse_args()
    if schemathesis is None:
        print("schemathesis is not installed: run `pip install schemathesis` in the venv", file=sys.stderr)
        return 2
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch) / "openapi.json"
        spec.write_text(json.dumps(_fix_bounds(json.loads(SPEC.read_text()))))
        log = open(Path(scratch) / "emulator.log", "wb")  # noqa: SIM115 - closed below
        emulator = subprocess.Popen([sys.executable, "-m", "orchestrator.emulator", "--port", str(port),
                                     "--hostname", "127.0.0.1"], stdout=log, stderr=subprocess.STDOUT, env=env)  # fmt: skip
        try:
            _wait_healthy(url, emulator)
            hooks_env = {**env, "SCHEMATHESIS_HOOKS": "fuzz_emulator",
                         "PYTHONPATH": f"{Path(__file__).parent}{os.pathsep}{env['PYTHONPATH']}"}  # fmt: skip
            command = [sys.executable, "-m", "schemathesis.cli", "run", str(spec), "--url", url, "--mode", "all",
                       "--checks", "not_a_server_error,tgi_status_codes", "--max-examples", str(args.max_examples),
                       "--seed", str(args.seed), "--request-timeout", "30"]  # fmt: skip
            started = time.monotonic()
            code = subprocess.call(command, env=hooks_env, cwd=scratch)  # its cache stays out of the tree
            print(f"schemathesis exit {code} after {time.monotonic() - started:.0f} s against {url}")
            return code
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
            log.close()
            tail = (Path(scratch) / "emulator.log").read_text(errors="replace")
            if "Traceback" in tail:
                print("the emulator logged a traceback:\n" + tail[-3000:], file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
