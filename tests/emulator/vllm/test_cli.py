"""`vllm serve` argument parsing: argparse's texts and exit codes, vLLM's config errors, the `--model` form."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fixtures.emulator import VLLM_MODEL


def _vllm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.emulator.vllm", *args], capture_output=True,
                          text=True, timeout=60, env=env)  # fmt: skip


def test_removed_and_unknown_flags_exit_2_from_the_top_parser() -> None:
    done = _vllm("serve", VLLM_MODEL, "--swap-space", "4")
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].startswith("usage: vllm [-h] [-v] {chat,complete,serve,")
    assert done.stderr.splitlines()[-1] == "vllm: error: unrecognized arguments: --swap-space 4"


def test_serve_twice_is_refused_as_vllm_does() -> None:
    done = _vllm("serve", "serve", VLLM_MODEL)
    assert done.returncode == 2 and "vllm: error: unrecognized arguments: serve" in done.stderr


def test_bad_choice_is_the_serve_parsers_error() -> None:
    done = _vllm("serve", VLLM_MODEL, "--dtype", "fp5")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: vllm serve [model_tag] [options]\n")
    assert "vllm serve: error: argument --dtype: invalid choice: 'fp5'" in done.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--max-model-len", "40000"], "User-specified max_model_len (40000) is greater than the derived"),
        (["--max-num-batched-tokens", "100", "--max-num-seqs", "256"],
         "max_num_batched_tokens (100) must be greater than or equal to max_num_seqs (256)."),
        (["--tensor-parallel-size", "3"], "Total number of attention heads (32) must be divisible by tensor "
                                          "parallel size (3)."),
        (["--gpu-memory-utilization", "1.5"], "1 validation error for CacheConfig"),
        (["--quantization", "gptq"], "does not match the quantization method specified in the `quantization` "
                                     "argument (gptq)."),
        (["--quantization", "nope"], "Unknown quantization method: nope."),
    ],
)  # fmt: skip
def test_config_errors_exit_1_with_vllms_message(args: list[str], expected: str) -> None:
    done = _vllm("serve", VLLM_MODEL, *args)
    assert done.returncode == 1, done.stderr
    assert expected in done.stderr and done.stderr.startswith("Traceback (most recent call last):")


def test_human_readable_lengths_and_underscores() -> None:
    from orchestrator.emulator.vllm.cli import human_readable_int, parse_serve

    assert [human_readable_int(v) for v in ("1k", "1K", "25.6k", "4096")] == [1000, 1024, 25600, 4096]
    namespace = parse_serve(["serve", VLLM_MODEL, "--max_model_len=2K", "--no-enable-prefix-caching"], {})
    assert namespace.max_model_len == 2048 and namespace.enable_prefix_caching is False
    assert parse_serve(["serve", "--disable-log-requests"], {}).enable_log_requests is False


def test_version_and_help_exit_0() -> None:
    assert _vllm("--version").stdout.strip() == "0.33.0"
    done = _vllm("serve", "--help")
    assert done.returncode == 0 and "--max-num-seqs" in done.stdout and "--emulator-profile" in done.stdout


def test_served_model_name_without_a_model_is_refused() -> None:
    done = _vllm("serve", "--served-model-name", "x")
    assert (
        done.returncode == 1 and "`model` should be provided as the first positional argument" in done.stderr
    )


def test_the_engine_switch_of_python_m_orchestrator_emulator() -> None:
    done = subprocess.run([sys.executable, "-m", "orchestrator.emulator", "--engine", "vllm", VLLM_MODEL,
                           "--swap-space", "4"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "unrecognized arguments: --swap-space 4" in done.stderr
    other = subprocess.run([sys.executable, "-m", "orchestrator.emulator", "--engine", "sglang"],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert other.returncode == 2 and "choose one of: tgi, vllm" in other.stderr
