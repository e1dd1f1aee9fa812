"""The launch plan for vLLM: its port, the wrapper exporting VLLM_API_KEY, labels, and a drain that fits the grace."""

from __future__ import annotations

from pathlib import Path

from orchestrator.launch.plan import build_plan, wrapper_script
from tests.plan.helpers import settings

SECRET = "sk-plan-secret-0042"
TOKEN = "hf_PLANtokenNEVERshown0123456789abcd"


def test_vllm_plan_has_its_port_wrapper_and_labels(isolated: Path) -> None:
    plan = build_plan(
        settings(**{"engine__kind": "vllm", "secrets__api_key": SECRET, "secrets__hf_token": TOKEN}),
        gpu_count=2,
    )
    assert plan.engine == "vllm" and plan.container_port == 8000
    assert plan.port_bindings == {"8000/tcp": ("127.0.0.1", 8080)}
    assert {(s.target, s.env_var) for s in plan.secret_files} == {
        ("/data/token", "HF_TOKEN"),
        ("/run/secrets/tgi-api-key", "VLLM_API_KEY"),
    }
    assert plan.entrypoint is not None and plan.entrypoint[-2:] == ["vllm", "serve"]
    assert plan.entrypoint[2] == wrapper_script(plan.secret_files)
    assert plan.labels["org.tgi-orchestrator.engine"] == "vllm"
    assert plan.labels["org.tgi-orchestrator.tgi-version"] == "0.33.0"
    assert plan.command[plan.command.index("--tensor-parallel-size") + 1] == "2"
    text = repr(plan.command) + repr(plan.environment) + repr(plan.labels)
    assert SECRET not in text and TOKEN not in text
    drain = int(plan.command[plan.command.index("--shutdown-timeout") + 1])
    assert drain == plan.stop_timeout - 10 == 110


def test_the_same_settings_on_both_engines_hash_differently_and_tgi_is_unchanged(isolated: Path) -> None:
    tgi, vllm = build_plan(settings()), build_plan(settings(engine__kind="vllm"))
    assert tgi.settings_hash != vllm.settings_hash
    assert tgi.engine == "tgi" and tgi.container_port == 80 and "--cuda-memory-fraction" not in tgi.command
    fraction = build_plan(settings(limits__gpu_memory_fraction=0.8)).command
    assert fraction[fraction.index("--cuda-memory-fraction") + 1] == "0.8"  # the same setting on TGI
