"""Every validation rule with good and bad values; all problems at once; each names setting, source, value, fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.config.validation import check, problems, warnings
from orchestrator.engines.tgi.launcher_flags import graceful_timeout_in, mask_secret_args
from orchestrator.errors import ConfigError
from tests.plan.helpers import unchecked

pytestmark = pytest.mark.usefixtures("isolated")

UUID = "GPU-8f6c0a2e-1b2c-4d5e-8f90-123456789abc"
OLD = "ghcr.io/huggingface/text-generation-inference:"

GOOD: list[dict[str, Any]] = [
    {},
    {"model__id": "mistralai/Mistral-7B-Instruct-v0.2"},
    {"model__id": "/data/models/my-mistral"},
    {"model__revision": "3a2c9f0"},
    {"model__quantize": "gptq"},
    {"model__quantize": "compressed-tensors"},
    {"model__quantize": "exl2", "engine__image": OLD + "2.1.0"},
    {"model__quantize": "bitsandbytes-nf4", "model__dtype": "bfloat16"},
    {"model__quantize": "", "model__dtype": "float16"},
    {"limits__max_input_tokens": 4095, "limits__max_total_tokens": 4096},
    {"limits__max_batch_prefill_tokens": 3696},
    {"limits__max_batch_total_tokens": 4096},
    {
        "limits__max_batch_total_tokens": 32000,
        "limits__max_batch_size": 8,
        "limits__waiting_served_ratio": 0.3,
    },
    {"limits__max_stop_sequences": 0, "limits__max_top_n_tokens": 0, "limits__max_waiting_tokens": 0},
    {"engine__image": "tgi-orchestrator/emulator:3.3.7"},
    {"engine__image": "registry.local:5000/tgi:custom", "engine__tgi_version": "3.3.7"},
    {"engine__image": OLD + "1.1.0"},
    {"engine__image": OLD + "2.3.0", "secrets__api_key": "key-0123456789"},
    {"engine__extra_args": ["--json-output", "--cuda-graphs=0", "--sharded", "false"]},
    {"host__bind_address": "0.0.0.0"},
    {"host__bind_address": "::1"},
    {"host__port": 1},
    {"host__port": 65535},
    {"host__gpus": "none"},
    {"host__gpus": "0"},
    {"host__gpus": "0,1,2,3", "host__num_shard": 2},
    {"host__gpus": f"{UUID},0"},
    {"host__gpus": "ALL", "host__num_shard": 4},
    {"host__shm_size": "64m"},
    {"host__shm_size": "2G"},
    {"host__shm_size": "1073741824"},
    {"host__container_name": "tgi_b.2-x"},
    {"timeouts__stop_grace": 91},
    {"timeouts__startup_deadline": 0.5},
]


@pytest.mark.parametrize(
    "overrides", GOOD, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults"
)
def test_good_values_pass(overrides: dict[str, Any]) -> None:
    settings = unchecked(**overrides)
    assert problems(settings) == []
    check(settings)


# (overrides, setting named by the one problem, words the rule must contain)
BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"model__id": "mistral"}, "model.id", "org/name"),
    ({"model__id": "a/b/c"}, "model.id", "org/name"),
    ({"model__id": "relative/../path x"}, "model.id", "org/name"),
    ({"model__id": "org/na me"}, "model.id", "org/name"),
    ({"model__revision": "my branch"}, "model.revision", "without spaces"),
    ({"model__quantize": "int4"}, "model.quantize", "accepts --quantize"),
    ({"model__quantize": "exl2", "engine__image": OLD + "2.0.4"}, "model.quantize", "TGI 2.0.4"),
    ({"model__quantize": "fp8", "engine__image": OLD + "1.4.5"}, "model.quantize", "TGI 1.4.5"),
    ({"model__quantize": "compressed-tensors", "engine__image": OLD + "2.4.1"}, "model.quantize", "TGI 2.4.1"),
    ({"model__dtype": "float16"}, "model.dtype", "AWQ runs in float16"),
    ({"model__quantize": "gptq", "model__dtype": "bfloat16"}, "model.dtype", "bitsandbytes"),
    ({"model__quantize": "", "model__dtype": "float32"}, "model.dtype", "float16 or bfloat16"),
    ({"limits__max_input_tokens": 4096}, "limits.max_input_tokens", "must be < limits.max_total_tokens"),
    ({"limits__max_batch_prefill_tokens": 3695}, "limits.max_batch_prefill_tokens", ">= limits.max_input_tokens"),
    ({"limits__max_batch_total_tokens": 4095, "limits__max_batch_prefill_tokens": 4000}, "limits.max_batch_total_tokens",
     ">= limits.max_total_tokens"),
    ({"limits__max_batch_total_tokens": 4096, "limits__max_batch_prefill_tokens": 5000}, "limits.max_batch_total_tokens",
     ">= limits.max_batch_prefill_tokens"),
    ({"limits__max_concurrent_requests": 0}, "limits.max_concurrent_requests", "at least 1"),
    ({"limits__max_best_of": 0}, "limits.max_best_of", "at least 1"),
    ({"limits__max_stop_sequences": -1}, "limits.max_stop_sequences", "at least 0"),
    ({"limits__max_batch_size": 0}, "limits.max_batch_size", "at least 1"),
    ({"limits__waiting_served_ratio": 0}, "limits.waiting_served_ratio", "> 0"),
    ({"limits__max_batch_size": 8, "engine__image": OLD + "1.4.0"}, "limits.max_batch_size", "1.4.1"),
    ({"engine__image": OLD + "latest"}, "engine.image", "does not name a TGI release"),
    ({"engine__image": "my/tgi"}, "engine.image", "does not name a TGI release"),
    ({"engine__image": OLD + "1.0.3"}, "engine.image", "older than 1.1.0"),
    ({"engine__image": "x:3.3.7 y"}, "engine.image", "without spaces"),
    ({"engine__tgi_version": "three"}, "engine.tgi_version", "not a version"),
    ({"engine__extra_args": ["--max-input-length", "1000"]}, "engine.extra_args", "from limits.max_input_tokens"),
    ({"engine__extra_args": ["--port=3000"]}, "engine.extra_args", "from host.port"),
    ({"engine__extra_args": ["-p", "3000"]}, "engine.extra_args", "from host.port"),
    ({"engine__extra_args": ["--quantize", "gptq"]}, "engine.extra_args", "from model.quantize"),
    ({"engine__extra_args": ["--num-shard", "2"]}, "engine.extra_args", "from host.num_shard"),
    ({"engine__extra_args": ["--usage-stats", "on"]}, "engine.extra_args", "from engine.usage_stats"),
    ({"engine__extra_args": ["--ngrok-authtoken=abc"]}, "engine.extra_args", "takes a secret"),
    ({"engine__extra_args": ["-g", "300"]}, "timeouts.stop_grace", "--graceful-termination-timeout (300 s)"),
    (
        {"engine__extra_args": ["--graceful-termination-timeout=200"], "timeouts__stop_grace": 200},
        "timeouts.stop_grace",
        "(200 s)",
    ),
    ({"secrets__api_key": "short"}, "secrets.api_key", "at least 8 characters"),
    ({"secrets__api_key": "has space-123"}, "secrets.api_key", "line breaks"),
    ({"secrets__api_key": "line\nbreak-123"}, "secrets.api_key", "line breaks"),
    ({"engine__image": OLD + "2.2.0", "secrets__api_key": "key-0123456789"}, "secrets.api_key", "2.3.0"),
    ({"host__bind_address": "localhost"}, "host.bind_address", "IP address"),
    ({"host__bind_address": "256.0.0.1"}, "host.bind_address", "IP address"),
    ({"host__port": 0}, "host.port", "1-65535"),
    ({"host__port": 65536}, "host.port", "1-65535"),
    ({"host__gpus": "some"}, "host.gpus", "neither a GPU index"),
    ({"host__gpus": "0,,1"}, "host.gpus", "empty entry"),
    ({"host__gpus": "0,0"}, "host.gpus", "listed twice"),
    ({"host__gpus": "GPU-1234"}, "host.gpus", "GPU-<uuid>"),
    ({"host__gpus": ""}, "host.gpus", "empty entry"),
    ({"host__gpus": "0,1", "host__num_shard": 3}, "host.num_shard", "cannot exceed the 2 GPU(s)"),
    ({"host__gpus": "none", "host__num_shard": 2}, "host.num_shard", "without GPUs"),
    ({"host__num_shard": 0}, "host.num_shard", "at least 1"),
    ({"host__shm_size": "1gb"}, "host.shm_size", "positive size"),
    ({"host__shm_size": "0"}, "host.shm_size", "positive size"),
    ({"host__shm_size": "-1g"}, "host.shm_size", "positive size"),
    ({"host__shm_size": "1.5g"}, "host.shm_size", "positive size"),
    ({"host__container_name": "-tgi"}, "host.container_name", "Docker's"),
    ({"host__container_name": "tgi mistral"}, "host.container_name", "Docker's"),
    ({"host__container_name": "t"}, "host.container_name", "Docker's"),
    ({"timeouts__stop_grace": 90}, "timeouts.stop_grace", "longer than TGI's 90 s drain"),
    ({"timeouts__stall_pull": 0}, "timeouts.stall_pull", "positive"),
    ({"timeouts__startup_deadline": -5}, "timeouts.startup_deadline", "positive"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "setting", "words"), BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)]
)
def test_bad_values_are_named_with_source_value_rule_and_fix(
    overrides: dict[str, Any], setting: str, words: str
) -> None:
    found = problems(unchecked(**overrides))
    assert [p.setting for p in found] == [setting], found
    problem = found[0]
    assert words in problem.rule
    assert problem.source.startswith("flag") or problem.source == "default"
    assert problem.fix
    if setting.startswith("secrets."):
        assert problem.value == "'***'"
    elif setting == "engine.extra_args":
        assert problem.value == repr(mask_secret_args(unchecked(**overrides).engine.extra_args))
    else:
        assert problem.value == repr(unchecked(**overrides).value_at(setting)) or setting == "host.cache_dir"
    with pytest.raises(ConfigError) as info:
        check(unchecked(**overrides))
    assert info.value.exit_code == 2
    assert setting in str(info.value) and "Fix:" in str(info.value)


def test_secret_flag_values_never_reach_the_error() -> None:
    args = ["--api-key", "flag-secret-1", "--ngrok-authtoken=flag-secret-2", "--json-output"]
    with pytest.raises(ConfigError) as info:
        check(unchecked(engine__extra_args=args))
    assert "flag-secret" not in str(info.value)
    assert mask_secret_args(args) == ["--api-key", "***", "--ngrok-authtoken=***", "--json-output"]


def test_graceful_timeout_is_read_in_every_spelling() -> None:
    assert graceful_timeout_in(["-g", "300"]) == 300
    assert graceful_timeout_in(["--graceful-termination-timeout=45"]) == 45
    assert graceful_timeout_in(["--graceful-termination-timeout", "x"]) is None
    assert graceful_timeout_in(["--json-output"]) is None
    assert problems(unchecked(engine__extra_args=["-g", "30"], timeouts__stop_grace=60)) == []


def test_stop_grace_fix_says_why() -> None:
    (problem,) = problems(unchecked(timeouts__stop_grace=60))
    assert "SIGKILL" in problem.fix and "in-flight" in problem.fix


def test_all_problems_are_reported_at_once_with_their_sources(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated / "orchestrator.toml").write_text("[host]\ngpus = 'banana'\n")
    (isolated / ".env").write_text("ORCHESTRATOR_HOST__SHM_SIZE=lots\n")
    monkeypatch.setenv("ORCHESTRATOR_HOST__BIND_ADDRESS", "my-host")
    with pytest.raises(ConfigError) as info:
        check(unchecked(host__port=0, timeouts__stop_grace=10))
    by_setting = {p.setting: p for p in info.value.problems}
    assert set(by_setting) == {
        "host.port",
        "host.gpus",
        "host.shm_size",
        "host.bind_address",
        "timeouts.stop_grace",
    }
    assert by_setting["host.gpus"].source == "orchestrator.toml"
    assert by_setting["host.gpus"].value == "'banana'"
    assert by_setting["host.shm_size"].source == ".env"
    assert by_setting["host.bind_address"].source == "env ORCHESTRATOR_HOST__BIND_ADDRESS"
    assert by_setting["host.port"].source == "flag"
    assert "5 invalid settings" in str(info.value)


def test_token_limit_problem_names_the_other_limit_and_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_LIMITS__MAX_TOTAL_TOKENS", "2048")
    found = problems(unchecked())
    assert [p.setting for p in found] == ["limits.max_input_tokens"]
    assert "2048, from env ORCHESTRATOR_LIMITS__MAX_TOTAL_TOKENS" in found[0].rule
    assert "at most 2047" in found[0].fix


def test_warnings_for_risky_but_legal_choices() -> None:
    assert warnings(unchecked()) == []
    (exposed,) = warnings(unchecked(host__bind_address="0.0.0.0"))
    assert "without an API key" in exposed
    assert warnings(unchecked(host__bind_address="0.0.0.0", secrets__api_key="key-0123456789")) == []
    (no_gpu,) = warnings(unchecked(host__gpus="none"))
    assert "needs an NVIDIA GPU" in no_gpu
    (awq_dtype,) = warnings(unchecked(model__quantize="", model__dtype="bfloat16"))
    assert "shard aborts on --dtype" in awq_dtype
    assert warnings(unchecked(model__quantize="", model__dtype="bfloat16", model__id="org/plain")) == []
    for tag, warned in (("1.4.5", False), ("2.0.4", True), ("2.3.1", True), ("2.4.0", False)):
        found = warnings(unchecked(engine__image=OLD + tag))
        assert any("docker stop" in w for w in found) is warned, tag


def test_load_settings_validates_every_entry_point() -> None:
    from tests.plan.helpers import settings

    with pytest.raises(ConfigError) as info:
        settings(host__port=0)
    assert [p.setting for p in info.value.problems] == ["host.port"]


@pytest.mark.parametrize(
    ("overrides", "invalid"),
    [
        ({"limits__max_total_tokens": -5}, "limits.max_total_tokens"),
        ({"limits__max_input_tokens": 0}, "limits.max_input_tokens"),
        ({"limits__max_batch_prefill_tokens": -1}, "limits.max_batch_prefill_tokens"),
        ({"limits__max_batch_total_tokens": 0}, "limits.max_batch_total_tokens"),
    ],
)
def test_a_limit_below_its_minimum_is_named_alone_not_as_a_bound_for_the_others(
    overrides: dict[str, Any], invalid: str
) -> None:
    """`--max-total-tokens -5` once suggested "lower max_input_tokens to at most -6"."""
    found = problems(unchecked(**overrides))
    assert [p.setting for p in found] == [invalid]
    assert "must be at least" in found[0].rule
    assert not any("-6" in p.fix or "at most -" in p.fix for p in found)


def test_the_tag_of_a_custom_image_points_to_the_tgi_version_setting() -> None:
    (custom,) = problems(unchecked(engine__image="ghcr.io/x/image:1.0"))
    assert custom.setting == "engine.image" and "the tag of a custom image need not be TGI's" in custom.rule
    assert "--tgi-version" in custom.fix and "ORCHESTRATOR_ENGINE__TGI_VERSION" in custom.fix
    assert "use TGI 1.1.0 or newer" not in custom.fix
    assert problems(unchecked(engine__image="ghcr.io/x/image:1.0", engine__tgi_version="3.3.7")) == []
    (official,) = problems(unchecked(engine__image=OLD + "1.0.3"))
    assert "TGI 1.0.3 is older than 1.1.0" in official.rule and "use TGI 1.1.0 or newer" in official.fix
    (pinned_old,) = problems(unchecked(engine__image="ghcr.io/x/image:9", engine__tgi_version="1.0.0"))
    assert pinned_old.setting == "engine.tgi_version" and "use TGI 1.1.0 or newer" in pinned_old.fix
