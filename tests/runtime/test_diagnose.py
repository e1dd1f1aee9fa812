"""Failure diagnosis is pure: log lines in, (cause, fix) out. Lines are shaped like TGI 3.x's own output."""

from __future__ import annotations

import pytest

from orchestrator.engines.diagnosis import DiagnosisContext, redact
from orchestrator.engines.tgi.diagnosis import RULE_KEYS, diagnose, lower_prefill_tokens

TS = "2026-01-05T10:00:00.000000Z"

CASES = [
    (
        "warmup_oom",
        f"{TS} ERROR warmup{{max_input_length=Some(3696)}}: text_generation_router_v3::client: "
        "Server error: Not enough memory to handle 4096 prefill tokens. "
        "You need to decrease `--max-batch-prefill-tokens`",
    ),
    (
        "kv_cache_too_small",
        f"{TS} ERROR text_generation_router: Not enough memory to handle `max_total_tokens=4096`",
    ),
    ("kv_cache_too_small", "Error: Backend(NotEnoughMemory(32768))"),  # what the v3 router really prints
    (
        "argument_validation",
        'Error: ArgumentValidation("`max_input_tokens`(5000) must be < `max_total_tokens`(4096)")',
    ),
    ("shm_nccl", f"{TS} ERROR shard-manager: NCCL error: unhandled system error, NCCL version 2.20.5"),
    ("shm_nccl", "Bus error (core dumped)"),
    ("gpu_too_old", "RuntimeError: FlashAttention only supports Ampere GPUs or newer."),
    ("gpu_too_old", "CUDA error: no kernel image is available for execution on the device"),
    (
        "gated_or_bad_token",
        "huggingface_hub.errors.GatedRepoError: 401 Client Error. Cannot access gated repo for url "
        "https://huggingface.co/api/models/mistralai/Mistral-7B-Instruct-v0.2/revision/main.",
    ),
    (
        "sliding_window",
        "ValueError: The backend cuda does not support sliding window attention that is used by the model type "
        "mistral. To use this model nonetheless with the cuda backend, please set max_input_tokens=4096 "
        "(--max-input-tokens 4096).",
    ),
    (
        "prometheus_port_taken",
        f"{TS} ERROR text_generation_router::server: failed to build prometheus recorder: "
        "Address already in use (os error 98)",
    ),
    (
        "api_port_taken",
        "driver failed programming external connectivity on endpoint tgi (abc): Bind for 127.0.0.1:8080 failed: "
        "port is already allocated",
    ),
    (
        "image_not_found",
        "manifest for ghcr.io/huggingface/text-generation-inference:9.9.9 not found: manifest unknown: "
        "manifest unknown",
    ),
    (
        "registry_unreachable",
        'Get "https://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused',
    ),
    ("download_failed", f"{TS} ERROR download: text_generation_launcher: Download encountered an error:"),
    ("disk_full", "OSError: [Errno 28] No space left on device"),
    ("entrypoint_missing", "/bin/sh: 1: exec: /tgi-entrypoint.sh: not found"),
    ("webserver_crashed", f"{TS} ERROR text_generation_launcher: Webserver Crashed"),
    ("shard_crashed", f"{TS} ERROR text_generation_launcher: Shard 0 failed to start"),
]


@pytest.mark.parametrize(("key", "line"), CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_each_known_cause_is_recognised(key: str, line: str) -> None:
    noise = [f'{TS} INFO text_generation_launcher: Args {{ model_id: "x" }}', "", "Starting shard rank=0"]
    found = diagnose([*noise, line, "Shard 0 failed to start"])
    assert found is not None
    assert found.key == key
    assert found.cause and found.fix
    assert found.evidence.strip() == line.strip()


def test_every_rule_has_a_case() -> None:
    assert set(RULE_KEYS) - {key for key, _ in CASES} <= {"cuda_missing"}


def test_unknown_lines_give_no_diagnosis() -> None:
    assert diagnose(["hello", f"{TS} INFO text_generation_launcher: Starting shard rank=0"]) is None


def test_warmup_oom_suggests_a_computed_lower_prefill_budget() -> None:
    line = (
        "Not enough memory to handle 8192 prefill tokens. You need to decrease `--max-batch-prefill-tokens`"
    )
    found = diagnose([line], DiagnosisContext(max_batch_prefill_tokens=8192, max_input_tokens=3000))
    assert found is not None
    assert "max_batch_prefill_tokens to 4096" in found.fix
    assert "ORCHESTRATOR_LIMITS__MAX_BATCH_PREFILL_TOKENS=4096" in found.fix
    assert "8192" in found.cause
    # Below max_input_tokens the fix also says to lower max_input_tokens.
    found = diagnose([line.replace("8192", "4096")], DiagnosisContext(max_input_tokens=3696))
    assert found is not None
    assert "max_batch_prefill_tokens to 2048" in found.fix
    assert "limits.max_input_tokens to 2048" in found.fix


@pytest.mark.parametrize(
    ("current", "failed", "expected"), [(4096, None, 2048), (4096, 3000, 1280), (300, None, 256)]
)
def test_lower_prefill_tokens(current: int, failed: int | None, expected: int) -> None:
    assert lower_prefill_tokens(current, failed) == expected


def test_argument_validation_names_the_settings() -> None:
    found = diagnose(
        ['Error: ArgumentValidation("`max_input_tokens`(5000) must be < `max_total_tokens`(4096)")']
    )
    assert found is not None
    assert "limits.max_input_tokens" in found.fix and "limits.max_total_tokens" in found.fix
    assert "must be <" in found.cause


def test_api_port_fix_names_the_port() -> None:
    found = diagnose(
        ["Bind for 127.0.0.1:8123 failed: port is already allocated"], DiagnosisContext(port=8123)
    )
    assert found is not None
    assert "8123" in found.cause and "--port" in found.fix


def test_redact_masks_tgis_args_line_and_known_values() -> None:
    line = (
        '\x1b[2m2026\x1b[0m INFO text_generation_launcher: Args { model_id: "m", api_key: Some("sk-very-secret"), '
        'ngrok_authtoken: None, hostname: "0.0.0.0" }'
    )
    out = redact(line)
    assert "sk-very-secret" not in out and 'api_key: Some("***")' in out and "\x1b" not in out
    assert redact("token hf_abcdefghijklmnopqrstuvwxyz123 used", ()) == "token hf_*** used"
    assert redact("the key is s3cr3t-value!", ("s3cr3t-value!",)) == "the key is ***"
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer ***"
    json_line = '{"message":"Args { api_key: Some(\\"sk-json-secret\\"), port: 80 }"}'
    assert redact(json_line) == '{"message":"Args { api_key: Some(\\"***\\"), port: 80 }"}'


def test_diagnosis_evidence_is_redacted() -> None:
    found = diagnose(['Error: ArgumentValidation("bad api key sk-live-123 given")'], secrets=["sk-live-123"])
    assert found is not None
    assert "sk-live-123" not in found.evidence and "sk-live-123" not in found.cause
