"""vLLM's own start-up rules run before anything starts, with TGI's error quality: each problem names the setting,
where its value came from, the value, the rule (vLLM's own message where it has one) and a fix; all at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.config.validation import check, problems, warnings
from orchestrator.engines import engine_for
from orchestrator.errors import ConfigError
from tests.helpers import run_orchestrator
from tests.plan.helpers import unchecked

pytestmark = pytest.mark.usefixtures("isolated")

V = {"engine__kind": "vllm"}
IMAGE = "vllm/vllm-openai:"

GOOD: list[dict[str, Any]] = [
    {},
    {"model__quantize": ""},
    {"model__quantize": "awq", "model__dtype": "half"},
    {"model__dtype": "bfloat16"},
    {
        "limits__max_total_tokens": 32768,
        "limits__max_input_tokens": 32000,
        "limits__max_batch_prefill_tokens": 32768,
    },
    {"limits__max_batch_prefill_tokens": 512, "limits__max_batch_size": 512, "limits__max_input_tokens": 500},
    {"limits__gpu_memory_fraction": 0.5},
    {"host__gpus": "0,1", "host__num_shard": 2},
    {"engine__image": IMAGE + "v0.12.0"},
    {"engine__image": IMAGE + "latest", "engine__vllm_version": "0.33.0"},
    {"engine__image": "registry.local:5000/vllm:custom", "engine__vllm_version": "0.33.0"},
    {"engine__extra_args": ["--enforce-eager", "--chat-template", "/data/t.jinja"]},
    {"engine__extra_args": ["--swap-space", "4"], "engine__image": IMAGE + "v0.12.0"},
    {"timeouts__stop_grace": 40},
]


@pytest.mark.parametrize(
    "overrides", GOOD, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults"
)
def test_good_values_pass(overrides: dict[str, Any]) -> None:
    settings = unchecked(**V, **overrides)
    assert settings.serving_engine.kind == "vllm"
    assert problems(settings) == []
    check(settings)


# (overrides, setting named by the one problem, words the rule must contain, words the fix must contain)
BAD: list[tuple[dict[str, Any], str, str, str]] = [
    ({"model__quantize": "gptq"}, "model.quantize", "does not match the quantization method", "awq"),
    ({"model__quantize": "bitsandbytes-nf4"}, "model.quantize", "Unknown quantization method", "awq"),
    ({"model__dtype": "fp16"}, "model.dtype", "invalid choice: 'fp16'", "float16"),
    ({"model__dtype": "float32"}, "model.dtype", "not supported for quantization method awq", "float16"),
    (
        {
            "limits__max_total_tokens": 40000,
            "limits__max_input_tokens": 3000,
            "limits__max_batch_prefill_tokens": 40000,
        },
        "limits.max_total_tokens",
        "greater than the derived max_model_len (max_position_embeddings=32768",
        "32768",
    ),
    (
        {"limits__max_batch_prefill_tokens": 512, "limits__max_input_tokens": 500},
        "limits.max_batch_prefill_tokens",
        "must be greater than or equal to max_num_seqs (1024)",
        "limits.max_batch_size to at most 512",
    ),
    (
        {
            "limits__max_batch_prefill_tokens": 1024,
            "limits__max_input_tokens": 1000,
            "limits__max_batch_size": 2048,
        },
        "limits.max_batch_prefill_tokens",
        "max_num_seqs (2048)",
        "lower limits.max_batch_size",
    ),
    (
        {"host__gpus": "0,1,2", "host__num_shard": 3},
        "host.num_shard",
        "divisible by tensor parallel size (3)",
        "1, 2, 4",
    ),
    (
        {"engine__image": IMAGE + "latest"},
        "engine.image",
        "does not name a vLLM release",
        "engine.vllm_version",
    ),
    ({"engine__image": IMAGE + "v0.9.2"}, "engine.image", "older than 0.10.1", "0.10.1 or newer"),
    ({"engine__vllm_version": "three"}, "engine.vllm_version", "not a version", "0.33.0"),
    (
        {"engine__image": "ghcr.io/huggingface/text-generation-inference:3.3.7"},
        "engine.image",
        "is TGI's image, but engine.kind is vllm",
        "--engine tgi",
    ),
    (
        {"engine__extra_args": ["--max_model_len=1k"]},
        "engine.extra_args",
        "from limits.max_total_tokens",
        "remove",
    ),
    (
        {"engine__extra_args": ["--api-key", "k1", "k2"]},
        "engine.extra_args",
        "from secrets.api_key",
        "ORCHESTRATOR_SECRETS__API_KEY",
    ),
    ({"engine__extra_args": ["--port", "9000"]}, "engine.extra_args", "from host.port", "0.0.0.0:8000"),
    ({"engine__extra_args": ["-tp", "2"]}, "engine.extra_args", "from host.num_shard", "host.num_shard"),
    (
        {"engine__extra_args": ["--shutdown-timeout", "30"]},
        "engine.extra_args",
        "from timeouts.stop_grace",
        "minus 10 s",
    ),
    (
        {"engine__extra_args": ["--swap-space", "4"]},
        "engine.extra_args",
        "unrecognized arguments: --swap-space",
        "remove",
    ),
    (
        {"engine__extra_args": ["serve", "--enforce-eager"]},
        "engine.extra_args",
        "unrecognized arguments: serve",
        "remove",
    ),
    ({"timeouts__stop_grace": 8}, "timeouts.stop_grace", "leaves vLLM no time to drain", "at least 40"),
    ({"limits__gpu_memory_fraction": 1.5}, "limits.gpu_memory_fraction", "(0, 1]", "0.9"),
]


@pytest.mark.parametrize(
    "overrides, setting, rule, fix", BAD, ids=lambda x: str(x)[:60] if isinstance(x, dict) else ""
)
def test_bad_values_name_the_setting_the_source_the_value_and_a_fix(
    overrides: dict[str, Any], setting: str, rule: str, fix: str
) -> None:
    found = problems(unchecked(**V, **overrides))
    assert [p.setting for p in found] == [setting], found
    (problem,) = found
    assert rule in problem.rule and fix in problem.fix, problem
    assert problem.source == "flag" and problem.value != ""


def test_every_problem_at_once_and_secrets_never_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {
                "engine.kind": "vllm",
                "model.quantize": "gptq",
                "engine.extra_args": ["--api-key=sk-never-shown-123"],
                "timeouts.stop_grace": 5,
            }
        )
    text = str(caught.value)
    assert {p.setting for p in caught.value.problems} == {
        "model.quantize",
        "engine.extra_args",
        "timeouts.stop_grace",
    }
    assert "sk-never-shown-123" not in text and "--api-key=***" in text


def test_the_same_settings_that_tgi_accepts_carry_over_and_the_other_engine_image_is_refused_for_tgi() -> (
    None
):
    assert problems(unchecked()) == [] and problems(unchecked(**V)) == []
    problem = problems(unchecked(engine__image=IMAGE + "v0.33.0"))[0]  # TGI's tag rule may add its own
    assert problem.setting == "engine.image" and "is vLLM's image, but engine.kind is tgi" in problem.rule
    assert "--engine vllm" in problem.fix


def test_warnings_say_what_has_no_vllm_equivalent_only_for_vllm() -> None:
    said = "\n".join(warnings(unchecked(**V, limits__waiting_served_ratio=0.3)))
    for setting in (
        "limits.max_input_tokens=3696",
        "limits.max_concurrent_requests=128",
        "limits.max_best_of=2",
        "limits.waiting_served_ratio=0.3",
    ):
        assert f"{setting} has no vLLM equivalent" in said, setting
    assert "limits.max_waiting_tokens" not in said  # unset: nothing to drop
    assert "no vLLM equivalent" not in "\n".join(warnings(unchecked()))


def test_engine_kind_comes_from_the_flag_env_and_toml_and_a_bad_one_is_named(isolated: Path) -> None:
    assert load_settings({"engine.kind": "vllm"}).serving_engine is engine_for("vllm")
    (isolated / "orchestrator.toml").write_text('[engine]\nkind = "vllm"\n')
    from_toml = load_settings()
    assert from_toml.engine.kind == "vllm" and from_toml.engine.image == IMAGE + "v0.33.0"
    assert from_toml.source_of("engine.kind") == "orchestrator.toml"
    shown = run_orchestrator(
        "config", "show", "--json", cwd=isolated, env={"ORCHESTRATOR_ENGINE__KIND": "vllm"}
    )
    assert shown.returncode == 0, shown.stderr
    assert (
        '"source": "env ORCHESTRATOR_ENGINE__KIND"' in shown.stdout and "no vLLM equivalent" in shown.stdout
    )
    bad = run_orchestrator("config", "validate", "--engine", "vlm", cwd=isolated)
    assert bad.returncode == 2
    assert "engine.kind" in bad.stderr and "'vlm'" in bad.stderr and "flag --engine" in bad.stderr
    ok = run_orchestrator("config", "validate", "--engine", "vllm", cwd=isolated)
    assert (
        ok.returncode == 0
        and "OK: settings are valid for vLLM 0.33.0 (vllm/vllm-openai:v0.33.0)" in ok.stdout
    )
