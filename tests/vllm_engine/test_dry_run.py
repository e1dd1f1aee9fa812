"""`orchestrator up --engine vllm --dry-run` (the console script, a real process): a correct `docker run` for the real
vLLM 0.33.0 image serving this model, checked against the reference's flag table (vllm-server.md §2).

The table is written out here as an argparse parser with vLLM's types and choices, not read from the engine
package, so a misspelt, removed or mistyped flag fails: `vllm serve` would exit 2 on it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tests.helpers import run_orchestrator
from tests.plan.test_docker_command import option, shell_words

pytestmark = pytest.mark.usefixtures("isolated")

IMAGE = "vllm/vllm-openai:v0.33.0"
MODEL = "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"
SECRET = "sk-vllm-DRYRUN-secret-77"


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError("must be in (0, 1]")
    return value


def reference_parser() -> argparse.ArgumentParser:
    """`vllm serve`'s flags as vllm-server.md §2 lists them (0.33.0), with their types and choices."""
    parser = argparse.ArgumentParser(prog="vllm serve", exit_on_error=False)
    parser.add_argument("model_tag", nargs="?")
    parser.add_argument("--model")
    parser.add_argument("--quantization", "-q")
    parser.add_argument("--max-model-len", type=int)
    parser.add_argument("--max-num-batched-tokens", type=int)
    parser.add_argument("--max-num-seqs", type=int)
    parser.add_argument("--gpu-memory-utilization", type=_fraction)
    parser.add_argument("--tensor-parallel-size", "-tp", type=int)
    parser.add_argument("--api-key", nargs="+")
    parser.add_argument("--served-model-name", nargs="+")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--dtype", choices=["auto", "bfloat16", "float", "float16", "float32", "half"])
    parser.add_argument("--revision")
    parser.add_argument("--shutdown-timeout", type=int)
    parser.add_argument("--max-logprobs", type=int)
    parser.add_argument("--chat-template")
    parser.add_argument("--enforce-eager", action="store_true")
    return parser


def _dry_run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    done = run_orchestrator("up", "--engine", "vllm", "--dry-run", *args, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, shell_words(done.stdout)


def test_dry_run_is_a_correct_docker_run_for_the_real_vllm_image(isolated: Path) -> None:
    text, words = _dry_run(isolated)
    assert words[:3] == ["docker", "run", "--detach"]
    image_at = words.index(IMAGE)
    docker_opts, serve = words[:image_at], words[image_at + 1 :]
    # No --entrypoint without secrets: the image's own `vllm serve` runs, so the model comes first, positional.
    assert "--entrypoint" not in docker_opts and serve[0] == MODEL
    parsed = reference_parser().parse_args(serve)  # raises on a flag or value vLLM 0.33.0 would refuse
    assert (
        parsed.model_tag == MODEL and parsed.model is None
    )  # `--served-model-name` needs the positional form
    assert parsed.served_model_name == [MODEL]
    assert parsed.quantization == "awq"  # 0.33.0 maps it to AutoAWQ, which picks Marlin itself
    assert (parsed.max_model_len, parsed.max_num_batched_tokens) == (4096, 4096)
    assert parsed.tensor_parallel_size == 1 and (parsed.host, parsed.port) == ("0.0.0.0", 8000)
    assert parsed.max_logprobs == 5 and parsed.api_key is None
    stop_timeout = int(option(docker_opts, "--stop-timeout")[0])
    assert 0 < parsed.shutdown_timeout < stop_timeout == 120  # the drain ends before Docker's kill
    assert "[INST] " in parsed.chat_template and "{{ bos_token }}" in parsed.chat_template
    for removed in (
        "--swap-space",
        "--disable-log-requests",
        "--max-input-tokens",
        "--max-concurrent-requests",
    ):
        assert removed not in serve
    # Docker's side: the API port is vLLM's 8000, shared memory, GPUs, the cache as HF_HOME, telemetry off.
    assert option(docker_opts, "-p") == ["127.0.0.1:8080:8000"]
    assert option(docker_opts, "--shm-size") == ["1g"] and option(docker_opts, "--gpus") == ["all"]
    env = option(docker_opts, "-e")
    assert {"HF_HOME=/data", "VLLM_NO_USAGE_STATS=1", "DO_NOT_TRACK=1", "VLLM_MAX_STOP_STRINGS=4"} <= set(env)
    assert "VLLM_ENGINE_READY_TIMEOUT_S=3600" in env  # vLLM waits for its engine core as long as `up` waits
    assert any(v.endswith(":/data") for v in option(docker_opts, "-v"))
    labels = option(docker_opts, "--label")
    assert "org.tgi-orchestrator.engine=vllm" in labels
    assert "8000/health" in option(docker_opts, "--health-cmd")[0]
    # What has no vLLM equivalent is said, not dropped.
    warnings = [line for line in text.splitlines() if line.startswith("# warning:")]
    for setting in ("limits.max_input_tokens", "limits.max_concurrent_requests", "limits.max_best_of"):
        assert any(setting in line and "no vLLM equivalent" in line for line in warnings), setting
    assert any("429" in line for line in warnings)


def test_the_api_key_goes_through_the_wrapper_as_vllm_api_key_never_on_the_line(isolated: Path) -> None:
    text, words = _dry_run(isolated, env={"ORCHESTRATOR_SECRETS__API_KEY": SECRET})
    assert SECRET not in text
    image_at = words.index(IMAGE)
    assert option(words[:image_at], "--entrypoint") == ["/bin/sh"]
    script, *entry = words[image_at + 1 : image_at + 5]
    assert script == "-c"
    assert entry[0].startswith("set -e") and 'VLLM_API_KEY="$(cat /run/secrets/tgi-api-key)"' in entry[0]
    assert entry[1:] == [
        "vllm",
        "serve",
    ]  # $0 "$@": the wrapper execs the image's entrypoint with the command
    serve = words[image_at + 5 :]
    assert reference_parser().parse_args(serve).api_key is None
    assert "(exported as VLLM_API_KEY)" in text


def test_an_older_vllm_gets_the_module_entrypoint_model_flag_and_awq_marlin(isolated: Path) -> None:
    text, words = _dry_run(isolated, "--image", "vllm/vllm-openai:v0.12.0")
    serve = words[words.index("vllm/vllm-openai:v0.12.0") + 1 :]
    parsed = reference_parser().parse_args(serve)
    assert parsed.model_tag is None and parsed.model == MODEL  # python -m ...api_server ignores a positional
    assert parsed.quantization == "awq_marlin"
    assert "predates 0.33.0" in text and "vllm.entrypoints.openai.api_server" in text


def test_limits_translate_to_vllm_flags(isolated: Path) -> None:
    _, words = _dry_run(
        isolated,
        "--max-total-tokens",
        "8192",
        "--max-input-tokens",
        "8000",
        "--max-batch-prefill-tokens",
        "2048",
        "--set",
        "limits.max_batch_size=64",
        "--set",
        "limits.gpu_memory_fraction=0.85",
        "--set",
        "timeouts.stop_grace=45",
        "--set",
        "engine.extra_args=--enforce-eager",
        "--gpus",
        "0,1",
    )
    serve = words[words.index(IMAGE) + 1 :]
    parsed = reference_parser().parse_args(serve)
    assert (parsed.max_model_len, parsed.max_num_batched_tokens, parsed.max_num_seqs) == (8192, 2048, 64)
    assert parsed.gpu_memory_utilization == 0.85 and parsed.tensor_parallel_size == 2
    assert parsed.shutdown_timeout == 35 and parsed.enforce_eager
    assert serve.count("--enforce-eager") == 1 and serve[-1] == "--enforce-eager"  # extra args come last
