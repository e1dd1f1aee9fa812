"""The launch plan: plain values compared with `==`, per TGI version, with secrets kept out of config and args.

Flag and env names per version are those of shared/reference/tgi-server.md (§2 flags, §7 container).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from orchestrator.emulator.tgi.flags import parse_flags
from orchestrator.errors import ConfigError
from orchestrator.launch.plan import (
    GpuRequest,
    Healthcheck,
    LaunchPlan,
    Mount,
    SecretFile,
    build_plan,
    wrapper_script,
)
from tests.fixtures.emulator import free_port
from tests.plan.helpers import settings

pytestmark = pytest.mark.usefixtures("isolated")

IMAGE = "ghcr.io/huggingface/text-generation-inference"
LIMITS = ["--max-total-tokens", "4096", "--max-batch-prefill-tokens", "4096"]
REQUEST_LIMITS = [
    "--max-concurrent-requests", "128", "--max-best-of", "2", "--max-stop-sequences", "4", "--max-top-n-tokens", "5",
]  # fmt: skip
MODEL = ["--model-id", "TheBloke/Mistral-7B-Instruct-v0.2-AWQ", "--quantize", "awq"]
NET = ["--hostname", "0.0.0.0", "--port", "80"]


def flag_value(command: list[str], flag: str) -> str:
    assert command.count(flag) == 1, f"{flag} appears {command.count(flag)} times in {command}"
    return command[command.index(flag) + 1]


def test_pinned_release_plan_is_exactly_this() -> None:
    plan = build_plan(settings(), gpu_count=1)
    expected = LaunchPlan(
        container_name="tgi-mistral",
        image=f"{IMAGE}:3.3.7",
        tgi_version=(3, 3, 7),
        entrypoint=None,
        command=[
            *MODEL,
            "--max-input-tokens",
            "3696",
            *LIMITS,
            *REQUEST_LIMITS,
            "--num-shard",
            "1",
            *NET,
            "--usage-stats",
            "off",
        ],
        environment={"HF_HOME": "/data"},
        mounts=[Mount(str(Path("~/.cache/tgi-orchestrator/data").expanduser()), "/data", False)],
        secret_files=[],
        container_port=80,
        port_bindings={"80/tcp": ("127.0.0.1", 8080)},
        device_requests=[GpuRequest(count=-1, device_ids=None, capabilities=[["gpu"]])],
        num_shard=1,
        shm_size="1g",
        labels={},
        stop_timeout=120,
        healthcheck=Healthcheck(
            test=[
                "CMD-SHELL",
                "python3 -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=8)' "
                "http://127.0.0.1:80/health 2>/dev/null || "
                "curl -fsS -o /dev/null --max-time 8 http://127.0.0.1:80/health",
            ],
            interval=15.0,
            timeout=10.0,
            start_period=3600.0,
            retries=3,
        ),
        settings_hash=plan.settings_hash,
        warnings=[],
        engine="tgi",
        image_entrypoint=("/tgi-entrypoint.sh",),
        token_env="HF_TOKEN",
    )
    prefix = "org.tgi-orchestrator"
    assert plan.labels == {
        f"{prefix}.managed": "true",
        f"{prefix}.engine": "tgi",
        f"{prefix}.name": "tgi-mistral",
        f"{prefix}.model": "TheBloke/Mistral-7B-Instruct-v0.2-AWQ",
        f"{prefix}.tgi-version": "3.3.7",
        f"{prefix}.settings-hash": plan.settings_hash,
        f"{prefix}.port": "8080",
        f"{prefix}.bind-address": "127.0.0.1",
        f"{prefix}.gpus": "all",
        f"{prefix}.settings": "{}",  # only settings that differ from the defaults
    }
    assert dataclasses.replace(plan, labels={}) == expected


def test_the_emulators_33x_launcher_accepts_the_pinned_command() -> None:
    """The emulator mirrors every 3.3.x launcher flag (unknown flags exit 2), so this checks our spelling."""
    plan = build_plan(settings(limits__max_batch_size=32, limits__waiting_served_ratio=0.5), gpu_count=2)
    values = parse_flags(plan.command, environ={})
    assert values["quantize"] == "awq"
    assert (values["max_input_tokens"], values["max_total_tokens"]) == (3696, 4096)
    assert values["max_batch_prefill_tokens"] == 4096
    assert (values["num_shard"], values["port"], values["hostname"]) == (2, 80, "0.0.0.0")
    assert (values["max_batch_size"], values["waiting_served_ratio"]) == (32, 0.5)
    assert values["usage_stats"] == "off"
    assert values["dtype"] is None


# Version table from the reference: input flag (§2/§3), token env and cache env (§7), image entrypoint (§7),
# token file ($HF_HOME/token; HF_HOME=/data from 2.3.0, else root's default ~/.cache/huggingface).
VERSIONS = [
    ("1.1.0", "--max-input-length", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_CACHE", "text-generation-launcher",
     "/root/.cache/huggingface/token", []),
    ("2.0.4", "--max-input-tokens", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_CACHE", "/tgi-entrypoint.sh",
     "/root/.cache/huggingface/token", []),
    ("2.1.0", "--max-input-tokens", "HF_TOKEN", "HUGGINGFACE_HUB_CACHE", "/tgi-entrypoint.sh",
     "/root/.cache/huggingface/token", []),
    ("2.2.0", "--max-input-tokens", "HF_TOKEN", "HUGGINGFACE_HUB_CACHE", "/tgi-entrypoint.sh",
     "/root/.cache/huggingface/token", ["--disable-usage-stats"]),
    ("2.4.1", "--max-input-tokens", "HF_TOKEN", "HF_HOME", "/tgi-entrypoint.sh", "/data/token",
     ["--usage-stats", "off"]),
    ("3.3.7", "--max-input-tokens", "HF_TOKEN", "HF_HOME", "/tgi-entrypoint.sh", "/data/token",
     ["--usage-stats", "off"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tag", "input_flag", "token_env", "cache_env", "entrypoint", "token_file", "usage"), VERSIONS
)
def test_version_specific_names(
    tag: str,
    input_flag: str,
    token_env: str,
    cache_env: str,
    entrypoint: str,
    token_file: str,
    usage: list[str],
) -> None:
    plan = build_plan(
        settings(engine__image=f"{IMAGE}:{tag}", secrets__hf_token="hf_secret_value"), gpu_count=1
    )
    assert plan.tgi_version == tuple(int(p) for p in tag.split("."))
    assert flag_value(plan.command, input_flag) == "3696"
    other = {"--max-input-length", "--max-input-tokens"} - {input_flag}
    assert not other & set(plan.command)
    assert plan.command[:4] == MODEL
    assert plan.environment == {cache_env: "/data"}
    assert plan.secret_files == [SecretFile("hf-token", token_file, token_env, SecretStr("hf_secret_value"))]
    assert plan.entrypoint is not None and plan.entrypoint[-1] == entrypoint
    assert plan.entrypoint[:2] == ["/bin/sh", "-c"]
    assert f'{token_env}="$(cat {token_file})"' in plan.entrypoint[2]
    usage_flags = [a for a in plan.command if "usage-stats" in a or a in {"off", "--disable-crash-reports"}]
    assert usage_flags == usage
    assert plan.labels["org.tgi-orchestrator.tgi-version"] == tag


def test_usage_stats_can_be_turned_on() -> None:
    assert flag_value(build_plan(settings(engine__usage_stats="on")).command, "--usage-stats") == "on"
    old = build_plan(settings(engine__image=f"{IMAGE}:2.2.0", engine__usage_stats="no-stack")).command
    assert "--disable-crash-reports" in old and "--disable-usage-stats" not in old


def test_custom_image_uses_the_declared_version() -> None:
    plan = build_plan(settings(engine__image="registry.local/tgi:custom", engine__tgi_version="1.4.5"))
    assert plan.tgi_version == (1, 4, 5)
    assert "--max-input-length" in plan.command
    assert plan.image == "registry.local/tgi:custom"


def test_secrets_stay_out_of_environment_args_and_reprs() -> None:
    hf, key = "hf_TOPSECRET_token", "sk-TOPSECRET-api-key"
    plan = build_plan(settings(secrets__hf_token=hf, secrets__api_key=key), gpu_count=1)
    assert plan.secret_files == [
        SecretFile("hf-token", "/data/token", "HF_TOKEN", SecretStr(hf)),
        SecretFile("tgi-api-key", "/run/secrets/tgi-api-key", "API_KEY", SecretStr(key)),
    ]
    assert plan.entrypoint == [
        "/bin/sh",
        "-c",
        'set -e; HF_TOKEN="$(cat /data/token)"; export HF_TOKEN; '
        'API_KEY="$(cat /run/secrets/tgi-api-key)"; export API_KEY; exec "$0" "$@"',
        "/tgi-entrypoint.sh",
    ]
    visible = [repr(plan), str(plan.environment), *plan.command, *plan.entrypoint, *plan.labels.values()]
    for text in visible:
        assert "TOPSECRET" not in text
    assert "--api-key" not in plan.command
    assert not {"HF_TOKEN", "API_KEY", "HUGGING_FACE_HUB_TOKEN"} & set(plan.environment)


def test_api_key_needs_tgi_2_3() -> None:
    with pytest.raises(ConfigError) as info:
        build_plan(settings(engine__image=f"{IMAGE}:2.2.0", secrets__api_key="key-0123456789"))
    assert [p.setting for p in info.value.problems] == ["secrets.api_key"]
    assert "k" not in info.value.problems[0].value


def test_wrapper_exports_secrets_from_files_and_fails_without_them(tmp_path: Path) -> None:
    """Run the wrapper script in a real POSIX shell: env from files, exec of $0 with the args, fail-fast."""
    key_file = tmp_path / "api-key"
    key_file.write_text("the-key")
    secret = SecretFile("tgi-api-key", str(key_file), "API_KEY", SecretStr("the-key"))
    script = wrapper_script([secret])
    env = {"PATH": os.environ["PATH"]}
    out = subprocess.run(["/bin/sh", "-c", script, "sh", "-c", 'echo "$API_KEY|$1"', "x", "arg1"],
                         capture_output=True, text=True, env=env, check=True)  # fmt: skip
    assert out.stdout.strip() == "the-key|arg1"
    key_file.unlink()
    failed = subprocess.run(
        ["/bin/sh", "-c", script, "echo", "started"], capture_output=True, text=True, env=env
    )
    assert failed.returncode != 0
    assert "started" not in failed.stdout


@pytest.mark.parametrize(
    ("gpus", "num_shard", "gpu_count", "requests", "shards", "warned"),
    [
        ("all", None, 4, [GpuRequest(-1, None, [["gpu"]])], 4, False),
        ("all", None, None, [GpuRequest(-1, None, [["gpu"]])], 1, True),
        ("all", None, 0, [GpuRequest(-1, None, [["gpu"]])], 1, True),
        ("all", 2, None, [GpuRequest(-1, None, [["gpu"]])], 2, False),
        ("0,1", None, None, [GpuRequest(None, ["0", "1"], [["gpu"]])], 2, False),
        ("0,1", 1, None, [GpuRequest(None, ["0", "1"], [["gpu"]])], 1, False),
        ("GPU-8f6c0a2e-1b2c-4d5e-8f90-123456789abc", None, None,
         [GpuRequest(None, ["GPU-8f6c0a2e-1b2c-4d5e-8f90-123456789abc"], [["gpu"]])], 1, False),
        ("none", None, 8, [], 1, True),
    ],
)  # fmt: skip
def test_num_shard_is_explicit_from_the_gpu_selection(
    gpus: str,
    num_shard: int | None,
    gpu_count: int | None,
    requests: list[GpuRequest],
    shards: int,
    warned: bool,
) -> None:
    plan = build_plan(settings(host__gpus=gpus, host__num_shard=num_shard), gpu_count=gpu_count)
    assert plan.device_requests == requests
    assert plan.num_shard == shards
    assert flag_value(plan.command, "--num-shard") == str(shards)
    assert bool(plan.warnings) is warned
    assert plan.labels["org.tgi-orchestrator.gpus"] == gpus


def test_dtype_is_passed_only_without_awq() -> None:
    assert "--dtype" not in build_plan(settings()).command
    plan = build_plan(settings(model__quantize="", model__dtype="bfloat16"))
    assert flag_value(plan.command, "--dtype") == "bfloat16"
    assert "--quantize" not in plan.command
    with pytest.raises(ConfigError) as info:
        build_plan(settings(model__dtype="float16"))
    assert [p.setting for p in info.value.problems] == ["model.dtype"]


def test_optional_limits_revision_and_extra_args() -> None:
    plan = build_plan(
        settings(
            model__revision="abc123",
            limits__max_batch_total_tokens=16000,
            limits__max_waiting_tokens=10,
            engine__extra_args=["--json-output", "--cuda-graphs", "1,2"],
        )
    )
    assert flag_value(plan.command, "--revision") == "abc123"
    assert flag_value(plan.command, "--max-batch-total-tokens") == "16000"
    assert flag_value(plan.command, "--max-waiting-tokens") == "10"
    assert plan.command[-3:] == ["--json-output", "--cuda-graphs", "1,2"]
    assert "--max-batch-size" not in plan.command and "--waiting-served-ratio" not in plan.command


def test_host_settings_shape_ports_mounts_and_stop(isolated: Path) -> None:
    plan = build_plan(
        settings(
            host__bind_address="0.0.0.0",
            host__port=9090,
            host__shm_size="2G",
            host__cache_dir="cache",
            host__container_name="tgi-b",
            timeouts__stop_grace=150.5,
            timeouts__startup_deadline=900,
        )
    )
    assert plan.port_bindings == {"80/tcp": ("0.0.0.0", 9090)}
    assert plan.mounts == [Mount(str(isolated / "cache"), "/data", False)]
    assert (plan.shm_size, plan.container_name, plan.stop_timeout) == ("2g", "tgi-b", 151)
    assert plan.healthcheck.start_period == 900
    assert any("without an API key" in w for w in plan.warnings)
    assert not any("without an API key" in w for w in build_plan(settings(host__bind_address="0.0.0.0",
                                                                          secrets__api_key="key-0123456789")).warnings)  # fmt: skip


def test_plans_are_values_and_the_hash_follows_what_shapes_the_container() -> None:
    base = build_plan(settings(), gpu_count=1)
    assert build_plan(settings(), gpu_count=1) == base
    assert len(base.settings_hash) == 16
    assert build_plan(settings(host__port=8081), gpu_count=1).settings_hash != base.settings_hash
    assert build_plan(
        settings(limits__max_total_tokens=4000, limits__max_input_tokens=3000)
    ).settings_hash != (base.settings_hash)
    assert build_plan(settings(), gpu_count=2).settings_hash != base.settings_hash
    # Secret values stay out of the (public) hash; their presence counts.
    one = build_plan(settings(secrets__api_key="key-aaaaaaaa"), gpu_count=1).settings_hash
    assert (
        build_plan(settings(secrets__api_key="key-bbbbbbbb"), gpu_count=1).settings_hash
        == one
        != base.settings_hash
    )
    # Timeouts of our own watchers do not shape the container.
    assert build_plan(settings(timeouts__stall_pull=5), gpu_count=1).settings_hash == base.settings_hash


def test_build_plan_refuses_invalid_settings() -> None:
    from tests.plan.helpers import unchecked

    with pytest.raises(ConfigError) as info:
        build_plan(unchecked(host__port=0, host__gpus="x"))
    assert {p.setting for p in info.value.problems} == {"host.port", "host.gpus"}


def test_healthcheck_command_probes_a_real_server(emulator: Any) -> None:
    """The healthcheck's shell command, pointed at a running emulator: 0 when healthy, non-zero when closed."""
    command = build_plan(settings()).healthcheck.test[1]
    live = command.replace("http://127.0.0.1:80/health", f"{emulator.url}/health")
    assert subprocess.run(["/bin/sh", "-c", live], capture_output=True, timeout=30).returncode == 0
    dead = command.replace("http://127.0.0.1:80/health", f"http://127.0.0.1:{free_port()}/health")
    assert subprocess.run(["/bin/sh", "-c", dead], capture_output=True, timeout=30).returncode != 0


def test_settings_label_carries_what_differs_from_the_defaults_with_secrets_masked() -> None:
    from orchestrator.launch.settings_label import SETTINGS_LABEL, changed_settings

    old = build_plan(settings(secrets__hf_token="hf_OLDSECRET")).labels[SETTINGS_LABEL]
    new_settings = settings(
        limits__max_total_tokens=8192,
        secrets__api_key="sk-NEWSECRET-0123",
        engine__extra_args=["--cuda-graphs", "1,2"],
    )
    new = build_plan(new_settings).labels[SETTINGS_LABEL]
    assert "SECRET" not in old + new
    assert json.loads(old) == {"secrets.hf_token": "***"}
    assert changed_settings(old, new) == [
        "limits.max_total_tokens: 4096 → 8192",
        'engine.extra_args: [] → ["--cuda-graphs", "1,2"]',
        'secrets.hf_token: "***" → unset',
        'secrets.api_key: unset → "***"',
    ]
    assert changed_settings(new, new) == []
    assert changed_settings(None, new) is None  # a container from before the label: no claim
    assert "timeouts.stall_pull" not in build_plan(settings(timeouts__stall_pull=5)).labels[SETTINGS_LABEL]
