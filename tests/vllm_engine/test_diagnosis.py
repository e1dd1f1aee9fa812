"""Each vLLM failure cause is diagnosed from realistic vLLM 0.33.0 log tails (vllm-server.md §1-§4, §7: the exact
messages in vLLM's line format, the root cause above `EngineCore failed to start.`), with a cause and a fix that
names the setting and a concrete value."""

from __future__ import annotations

import pytest

from orchestrator.engines import engine_for
from orchestrator.engines.diagnosis import DiagnosisContext
from orchestrator.engines.vllm.diagnosis import RULE_KEYS

VLLM = engine_for("vllm")
API = "(APIServer pid=1) INFO 12-02 03:25:31 [startup.py:112]"
CORE = "(EngineCore pid=212) ERROR 12-02 03:26:02 [core.py:1011]"
HEAD = [
    f"{API} vLLM server version 0.33.0, serving model TheBloke/Mistral-7B-Instruct-v0.2-AWQ",
    f"{API} non-default args: {{'model_tag': 'TheBloke/Mistral-7B-Instruct-v0.2-AWQ', 'api_key': '***'}}",
    "(APIServer pid=1) INFO 12-02 03:25:40 [model.py:1755] Using max model len 4096",
    "(EngineCore pid=212) INFO 12-02 03:25:44 [core.py:140] Initializing a V1 LLM engine (v0.33.0) with config: ...",
]
FAILED = [
    f"{CORE} EngineCore failed to start.",
    f"{CORE} Traceback (most recent call last):",
    "(APIServer pid=1) RuntimeError: Engine core initialization failed. See root cause above. "
    "Failed core proc(s): {'EngineCore': 1}",
]


def _tail(*cause: str) -> list[str]:
    return [*HEAD, *cause, *FAILED]


CASES: list[tuple[str, list[str], tuple[str, ...]]] = [
    (
        "free_vram_below_utilization",
        _tail(
            f"{CORE} ValueError: Free memory on device cuda:0 (20.5/79.19 GiB) on startup is less than desired GPU "
            "memory utilization (0.92, 72.85 GiB). Decrease GPU memory utilization or reduce GPU memory used by "
            "other processes."
        ),
        ("20.5 of 79.19 GiB", "limits.gpu_memory_fraction", "0.23", "nvidia-smi"),
    ),
    (
        "kv_cache_below_max_len",
        _tail(
            f"{CORE} ValueError: To serve at least one request with the model's max seq len (32768), (4.0 GiB KV "
            "cache is needed, which is larger than the available KV cache memory (1.66 GiB). Based on the available "
            "memory, the estimated maximum model length is 13600. Try increasing `gpu_memory_utilization` (which "
            "also controls CPU memory on the CPU backend) or decreasing `max_model_len` when initializing the "
            "engine. See https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more details."
        ),
        ("max_model_len=32768", "13600", "limits.max_total_tokens to 13568", "limits.gpu_memory_fraction"),
    ),
    (
        "kv_cache_below_max_len",  # the V0-era text
        [
            "INFO 12-26 02:09:12 api_server.py:643] vLLM API server version 0.5.4",
            "ValueError: The model's max seq len (32768) is larger than the maximum number of tokens that can be "
            "stored in KV cache (9744). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when "
            "initializing the engine.",
        ],
        ("9744", "limits.max_total_tokens to 9728"),
    ),
    (
        "no_kv_cache_room",
        _tail(
            f"{CORE} ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` "
            "when initializing the engine (this flag also controls CPU memory reservation on the CPU backend, "
            "despite its name). See https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more details."
        ),
        ("no GPU memory was left for KV-cache", "raise limits.gpu_memory_fraction", "default 0.92"),
    ),
    (
        "gpu_capability",
        _tail(
            f"{CORE} ValueError: The quantization method auto_awq is not supported for the current GPU. Minimum "
            "capability: 75. Current capability: 70."
        ),
        ("compute capability 7", "need 7.5+", "T4"),
    ),
    (
        "gated_or_bad_token",
        _tail(
            f"{API} huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-6757)",
            "Cannot access gated repo for url https://huggingface.co/org/gated/resolve/main/config.json.",
            "ValueError: Invalid repository ID or local directory specified: 'org/gated'.",
        ),
        ("gated or private", "secrets.hf_token"),
    ),
    (
        "invalid_repo",
        [
            *HEAD[:2],
            "huggingface_hub.errors.RepositoryNotFoundError: 404 Client Error. Repository Not Found for url: "
            "https://huggingface.co/TheBloke/Mistral-7B-Instrct-v0.2-AWQ/resolve/main/config.json.",
            "ValueError: Invalid repository ID or local directory specified: 'TheBloke/Mistral-7B-Instrct-v0.2-AWQ'.",
            "Please verify the following requirements:",
            "1. Provide a valid Hugging Face repository ID.",
        ],
        ("'TheBloke/Mistral-7B-Instrct-v0.2-AWQ'", "model.id", "typo"),
    ),
    (
        "shm",
        _tail(
            "(Worker_TP1 pid=301) RuntimeError: Insufficient space in /dev/shm for the message queue buffer: 640 MiB "
            "required, 64 MiB free. Increase /dev/shm (e.g. --shm-size or --ipc=host)."
        ),
        ("640 MiB required, 64 MiB free", "host.shm_size", "2g"),
    ),
    (
        "engine_core_failed",
        _tail(f"{CORE} torch.distributed.DistBackendError: something nobody has seen before"),
        ("engine core process failed to start", "--keep-failed"),
    ),
    (
        "gpu_out_of_memory",
        _tail(
            f"{CORE} torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB. GPU 0 has a total "
            "capacity of 22.05 GiB of which 117.12 MiB is free."
        ),
        ("ran out of memory", "limits.max_batch_prefill_tokens (now 4096)"),
    ),
    (
        "engine_died",
        [
            *HEAD,
            "(APIServer pid=1) INFO:     Application startup complete.",
            f"{CORE} EngineCore encountered a fatal error.",
            "(APIServer pid=1) ERROR 12-02 04:01:12 [core_client.py:599] [shutdown] MPClient: engine core exited "
            "unexpectedly; starting cleanup",
            "vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for "
            "the root cause.",
        ],
        ("died while serving", "500", "--recreate"),
    ),
    (
        "engine_ready_timeout",
        [
            *HEAD,
            "(APIServer pid=1) TimeoutError: Timed out waiting for engine core processes to start. This is often "
            "caused by slow weight loading for large models. Waited 600s (configured by VLLM_ENGINE_READY_TIMEOUT_S).",
        ],
        ("VLLM_ENGINE_READY_TIMEOUT_S", "host.cache_dir"),
    ),
    (
        "unrecognized_arguments",
        [
            "usage: vllm [-h] [-v] {chat,complete,serve,bench,collect-env,run-batch} ...",
            "vllm: error: unrecognized arguments: --swap-space 4",
        ],
        ("--swap-space 4", "engine.extra_args", "engine.vllm_version"),
    ),
    (
        "max_model_len_too_long",
        _tail(
            "pydantic_core._pydantic_core.ValidationError: 1 validation error for ModelConfig",
            "  Value error, User-specified max_model_len (40000) is greater than the derived max_model_len "
            "(max_position_embeddings=32768 or model_max_length=None in model's config.json). To allow overriding "
            "this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. [type=value_error, input_value=..., "
            "input_type=ArgsKwargs]",
        ),
        ("max_model_len=40000", "limits.max_total_tokens"),
    ),
    (
        "config_rejected",
        [
            "pydantic_core._pydantic_core.ValidationError: 1 validation error for CacheConfig",
            "  Value error, GPU memory utilization must be less than 1.0. Got 1.5. [type=value_error, input_value=...]",
        ],
        ("GPU memory utilization must be less than 1.0", "engine.extra_args"),
    ),
    (
        "api_port_taken",
        [
            "Error response from daemon: driver failed programming external connectivity: Bind for 127.0.0.1:8080 "
            "failed: port is already allocated"
        ],
        ("port 8080", "host.port"),
    ),
]


@pytest.mark.parametrize("key, lines, words", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_failure_cause_is_diagnosed_with_a_fix(
    key: str, lines: list[str], words: tuple[str, ...]
) -> None:
    found = VLLM.diagnose(lines, DiagnosisContext(port=8080), ())
    assert found is not None and found.key == key, found
    said = f"{found.cause} | {found.fix}"
    for word in words:
        assert word in said, (word, said)
    assert found.evidence in {line.strip() for line in lines}


def test_every_rule_has_a_case_here() -> None:
    container_rules = {"image_not_found", "registry_unreachable"}  # tested with the runtime
    tested = {case[0] for case in CASES}
    untested = set(RULE_KEYS) - tested - container_rules
    # The rest are tested through their own short lines:
    short = {
        "batched_tokens_below_seqs": "ValueError: max_num_batched_tokens (512) must be greater than or equal to "
        "max_num_seqs (1024).",
        "tensor_parallel_heads": "ValueError: Total number of attention heads (32) must be divisible by tensor "
        "parallel size (3).",
        "invalid_choice": "vllm serve: error: argument --dtype: invalid choice: 'fp16' (choose from auto, half)",
        "cuda_missing": "RuntimeError: Failed to infer device type",
        "disk_full": "OSError: [Errno 28] No space left on device",
        "entrypoint_missing": 'exec: "vllm": executable file not found in $PATH',
    }
    assert untested == set(short)
    for key, line in short.items():
        found = VLLM.diagnose([line], DiagnosisContext(), ())
        assert found is not None and found.key == key, (key, found)


def test_the_gpu_memory_setting_in_the_context_is_quoted_and_secrets_are_masked() -> None:
    line = f"{CORE} ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization`"
    found = VLLM.diagnose([line], DiagnosisContext(gpu_memory_fraction=0.6), ())
    assert found is not None and "now 0.6" in found.fix
    secret = "sk-secret-in-the-log-42"
    found = VLLM.diagnose(
        [f"vllm: error: unrecognized arguments: --api-key {secret}"], DiagnosisContext(), (secret,)
    )
    assert found is not None and secret not in found.cause + found.evidence
