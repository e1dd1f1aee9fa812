"""The replica plan: a pure function of the settings (and the GPU count) -> replicas, ports, GPUs, balancer."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.config.loading import load_settings
from orchestrator.config.replicas import replica_count
from orchestrator.config.settings import Settings
from orchestrator.errors import ConfigError
from orchestrator.launch.labels import label
from orchestrator.launch.replicas import BALANCER_HASH_LABEL, ROLE_LABEL, replica_set


def _settings(**values: Any) -> Settings:
    base: dict[str, Any] = {"host.gpus": "none", "host.port": 8080, "host.replicas": 3}
    base.update(values)
    return load_settings(base, env_file=None)


def test_three_replicas_without_gpus() -> None:
    plan = replica_set(_settings())
    assert [r.port for r in plan.replicas] == [8081, 8082, 8083]
    assert [r.plan.container_name for r in plan.replicas] == [f"tgi-mistral-replica-{i}" for i in (1, 2, 3)]
    assert all(r.plan.device_requests == [] and r.gpu is None for r in plan.replicas)
    assert [r.plan.port_bindings["80/tcp"] for r in plan.replicas] == [
        ("127.0.0.1", p) for p in (8081, 8082, 8083)
    ]
    assert plan.ports.metrics == 8084
    assert plan.balancer.container_name == "tgi-mistral"
    assert [s.port for s in plan.balancer.config.servers] == [8081, 8082, 8083]
    assert {r.plan.labels[ROLE_LABEL] for r in plan.replicas} == {"replica"}
    assert plan.balancer.labels[ROLE_LABEL] == "balancer"
    assert {r.plan.labels[label("name")] for r in plan.replicas} == {"tgi-mistral"}  # one deployment
    assert all(r.plan.labels[label("settings-hash")] == plan.settings_hash for r in plan.replicas)


def test_gpu_i_goes_to_replica_i() -> None:
    listed = replica_set(_settings(**{"host.gpus": "2,5", "host.replicas": 2}))
    assert [r.plan.device_requests[0].device_ids for r in listed.replicas] == [["2"], ["5"]]
    assert all("--num-shard" in r.plan.command and r.plan.num_shard == 1 for r in listed.replicas)
    every = replica_set(_settings(**{"host.gpus": "all", "host.replicas": 3}))
    assert [r.gpu for r in every.replicas] == ["0", "1", "2"]


def test_auto_is_one_replica_per_selected_gpu() -> None:
    assert len(replica_set(_settings(**{"host.gpus": "0,1,2,3", "host.replicas": "auto"})).replicas) == 4
    assert (
        len(replica_set(_settings(**{"host.gpus": "all", "host.replicas": "auto"}), gpu_count=2).replicas)
        == 2
    )
    unknown = replica_set(_settings(**{"host.gpus": "all", "host.replicas": "auto"}))
    assert len(unknown.replicas) == 1 and "unknown" in unknown.warnings[0]


def test_maxconn_is_the_engines_concurrency_limit() -> None:
    plan = replica_set(_settings(**{"limits.max_concurrent_requests": 32}))
    assert {s.maxconn for s in plan.balancer.config.servers} == {32}
    assert "maxconn 32" in plan.balancer.config_text


def test_ports_follow_the_settings() -> None:
    plan = replica_set(_settings(**{"host.replica_port": 9001, "host.balancer_metrics_port": 9100}))
    assert [r.port for r in plan.replicas] == [9001, 9002, 9003] and plan.ports.metrics == 9100


def test_the_plan_is_a_pure_function_of_the_settings() -> None:
    assert replica_set(_settings()) == replica_set(_settings())
    one, other = replica_set(_settings()), replica_set(_settings(**{"limits.max_input_tokens": 2000}))
    assert one.settings_hash != other.settings_hash
    assert one.balancer.labels[BALANCER_HASH_LABEL] == other.balancer.labels[BALANCER_HASH_LABEL]
    more = replica_set(_settings(**{"host.replicas": 4}))
    assert more.balancer.labels[BALANCER_HASH_LABEL] != one.balancer.labels[BALANCER_HASH_LABEL]


def test_a_single_replica_is_the_single_container_deployment() -> None:
    assert replica_count(_settings(**{"host.replicas": 1}).host).count == 1


@pytest.mark.parametrize(
    ("values", "path", "words"),
    [
        ({"host.replicas": 0}, "host.replicas", "1-64"),
        ({"host.replicas": "auto"}, "host.replicas", "host.gpus=none"),
        ({"host.gpus": "0", "host.replicas": 2}, "host.replicas", "lists 1 GPU"),
        ({"host.gpus": "0,1", "host.num_shard": 2, "host.replicas": 2}, "host.num_shard", "one GPU"),
        ({"host.port": 65534}, "host.port", "no room"),
        ({"host.balancer_metrics_port": 8082}, "host.balancer_metrics_port", "collides"),
    ],
)
def test_bad_replica_settings_name_the_setting_and_the_fix(
    values: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(**values)
    problems = [p for p in caught.value.problems if p.setting == path]
    assert problems, caught.value
    assert words in problems[0].rule and problems[0].fix
