"""`orchestrator k8s render`: manifests valid for the oldest and newest Kubernetes schemas shipped with
kubernetes-validate (strict), stable (golden files), probes and grace sized from the settings, secrets by reference."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from orchestrator.config.loading import load_settings
from orchestrator.engines import KINDS, engine_for
from orchestrator.errors import ConfigError
from orchestrator.k8s import KubeOptions, manifests_text, render_manifests, write_manifests
from orchestrator.k8s.pod import PRE_STOP_SECONDS
from tests.helpers import run_orchestrator

GOLDEN = Path(__file__).parent / "golden"
SCHEMAS = sorted(set(kubernetes_validate.utils.all_versions()), key=lambda v: tuple(map(int, v.split("."))))
OLDEST_AND_NEWEST = [SCHEMAS[0], SCHEMAS[-1]]
AUTOSCALERS = ["none", "hpa", "keda"]


def _settings(**overrides: Any) -> Any:
    return load_settings(overrides, env_file=None)


def _by_kind(manifests: list[Any]) -> dict[str, dict[str, Any]]:
    return {m.body["kind"]: m.body for m in manifests}


def _container(manifests: list[Any]) -> dict[str, Any]:
    return _by_kind(manifests)["Deployment"]["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("version", OLDEST_AND_NEWEST)
@pytest.mark.parametrize("autoscaler", AUTOSCALERS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_object_passes_strict_validation(kind: str, autoscaler: str, version: str) -> None:
    manifests = render_manifests(
        _settings(**{"engine.kind": kind} if kind != "tgi" else {}),
        KubeOptions(autoscaler=autoscaler, replicas=2, namespace="llm"),  # type: ignore[arg-type]
    )
    kinds = [m.body["kind"] for m in manifests]
    assert kinds[:4] == ["Deployment", "Service", "PodDisruptionBudget", "PersistentVolumeClaim"]
    for manifest in manifests:
        # A round trip through the YAML text, so what is validated is what users apply.
        body = yaml.safe_load(manifests_text([manifest]))
        if body["kind"] == "ScaledObject":
            # A CRD: kubernetes-validate has no schema for it and says so instead of passing it silently.
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(body, version, strict=True)
            assert set(body["spec"]["triggers"][0]["metadata"].values()) <= {
                v for v in body["spec"]["triggers"][0]["metadata"].values() if isinstance(v, str)
            }
            continue
        kubernetes_validate.validate(body, version, strict=True)


def test_a_misspelled_field_fails_strict_validation_so_the_check_above_can_fail() -> None:
    body = render_manifests(_settings())[0].body
    body["spec"]["template"]["spec"]["terminationGracePeriodSecond"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(body, SCHEMAS[-1], strict=True)


@pytest.mark.parametrize("autoscaler", AUTOSCALERS)
@pytest.mark.parametrize("kind", KINDS)
def test_rendering_matches_the_golden_file(kind: str, autoscaler: str) -> None:
    """Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/k8s` and review the diff."""
    settings = _settings(**{"engine.kind": kind} if kind != "tgi" else {})
    text = manifests_text(render_manifests(settings, KubeOptions(autoscaler=autoscaler)))  # type: ignore[arg-type]
    golden = GOLDEN / f"{kind}-{autoscaler}.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.read_text() == text, (
        f"{golden.name} is stale: rerun with UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.mark.parametrize("deadline", [1.0, 95.0, 600.0, 3600.0, 7201.5])
def test_startup_probe_covers_the_configured_startup_deadline(deadline: float) -> None:
    container = _container(render_manifests(_settings(**{"timeouts.startup_deadline": deadline})))
    probe = container["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= deadline
    # ...and not much more: one period of slack at most.
    assert probe["periodSeconds"] * (probe["failureThreshold"] - 1) < max(deadline, probe["periodSeconds"])
    assert probe["httpGet"]["path"] == engine_for().routes.health
    assert container["readinessProbe"]["httpGet"]["path"] == engine_for().routes.health
    assert "livenessProbe" not in container


@pytest.mark.parametrize("kind", KINDS)
def test_grace_period_outlasts_pre_stop_plus_the_engines_drain(kind: str) -> None:
    settings = _settings(**{"engine.kind": kind} if kind != "tgi" else {})
    manifests = render_manifests(settings)
    pod = _by_kind(manifests)["Deployment"]["spec"]["template"]["spec"]
    engine = engine_for(kind)
    args = _container(manifests)["args"]
    drain = engine.drain_in_args(args)
    drain = engine.drain_seconds if drain is None else drain
    assert pod["terminationGracePeriodSeconds"] > PRE_STOP_SECONDS + drain
    assert pod["terminationGracePeriodSeconds"] >= settings.timeouts.stop_grace


def test_one_gpu_per_pod_and_a_rolling_update_that_needs_no_spare_gpu() -> None:
    manifests = render_manifests(_settings(**{"host.gpus": "all"}), KubeOptions(replicas=3))
    deployment = _by_kind(manifests)["Deployment"]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert _container(manifests)["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    assert _by_kind(manifests)["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteMany"]
    assert _by_kind(manifests)["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1


def test_no_gpu_selection_renders_no_gpu_limit_and_a_single_pod_claim_is_read_write_once() -> None:
    manifests = render_manifests(_settings(**{"host.gpus": "none"}))
    assert "limits" not in _container(manifests)["resources"]
    assert _by_kind(manifests)["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_shm_size_and_args_come_from_the_launch_plan() -> None:
    settings = _settings(**{"host.shm_size": "2g", "limits.max_total_tokens": 8192})
    manifests = render_manifests(settings)
    volumes = _by_kind(manifests)["Deployment"]["spec"]["template"]["spec"]["volumes"]
    assert {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}} in volumes
    args = _container(manifests)["args"]
    assert args[args.index("--max-total-tokens") + 1] == "8192"


def test_secrets_are_referenced_never_rendered(tmp_path: Path) -> None:
    settings = _settings(**{"secrets.hf_token": "hf_SECRETtoken123", "secrets.api_key": "sk-SECRET-key-456"})
    manifests = render_manifests(settings, KubeOptions(secret_name="llm-keys"))
    text = manifests_text(manifests)
    assert "hf_SECRETtoken123" not in text and "sk-SECRET-key-456" not in text
    env = {e["name"]: e for e in _container(manifests)["env"]}
    refs = {name: e["valueFrom"]["secretKeyRef"] for name, e in env.items() if "valueFrom" in e}
    assert {ref["name"] for ref in refs.values()} == {"llm-keys"}
    assert sorted(ref["key"] for ref in refs.values()) == ["API_KEY", "HF_TOKEN"]
    assert [ref["optional"] for ref in refs.values() if ref["key"] == "API_KEY"] == [False]


def test_hpa_and_keda_scale_on_the_engines_queue_gauge() -> None:
    engine = engine_for()
    hpa = _by_kind(render_manifests(_settings(), KubeOptions(autoscaler="hpa", max_replicas=6)))
    metric = hpa["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["pods"]
    assert metric["metric"]["name"] == engine.status_metrics.queue.replace(":", "_")
    assert hpa["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] == 6
    keda = _by_kind(render_manifests(_settings(), KubeOptions(autoscaler="keda", queue_target=7)))
    trigger = keda["ScaledObject"]["spec"]["triggers"][0]["metadata"]
    assert engine.status_metrics.queue in trigger["query"]
    assert trigger["threshold"] == "7"


def test_invalid_names_and_options_are_refused_naming_each_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        render_manifests(
            _settings(**{"host.container_name": "TGI_mistral"}),
            KubeOptions(namespace="Bad_NS", replicas=3, autoscaler="hpa", max_replicas=2, cache_size="lots"),
        )
    text = str(caught.value)
    for expected in (
        "host.container_name",
        "--name tgi-mistral",
        "--namespace",
        "--max-replicas",
        "--cache-size",
    ):
        assert expected in text


def test_write_manifests_writes_each_object_and_a_kustomization(tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    written = write_manifests(render_manifests(_settings(), KubeOptions(autoscaler="hpa")), out)
    names = sorted(p.name for p in written)
    assert names == sorted(
        ["deployment.yaml", "service.yaml", "pdb.yaml", "pvc.yaml", "hpa.yaml", "kustomization.yaml"]
    )
    assert sorted(p.name for p in out.iterdir()) == names  # no staging directory left behind
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(n for n in names if n != "kustomization.yaml")


def test_cli_prints_a_stream_kubectl_can_apply_and_refuses_bad_input(tmp_path: Path) -> None:
    done = run_orchestrator("k8s", "render", "--gpus", "none", "--autoscaler", "keda", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    docs = list(yaml.safe_load_all(done.stdout))
    assert [d["kind"] for d in docs] == [
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "PersistentVolumeClaim",
        "ScaledObject",
    ]
    bad = run_orchestrator("k8s", "render", "--autoscaler", "vpa", cwd=tmp_path)
    assert bad.returncode == 2
    assert "--autoscaler" in bad.stderr and "none, hpa, keda" in bad.stderr
    out = tmp_path / "manifests"
    wrote = run_orchestrator("k8s", "render", "-o", str(out), "--namespace", "llm", cwd=tmp_path)
    assert wrote.returncode == 0, wrote.stderr
    assert "kubectl apply -k" in wrote.stdout
    assert yaml.safe_load((out / "deployment.yaml").read_text())["metadata"]["namespace"] == "llm"


def test_replicas_come_from_the_settings_one_gpu_each() -> None:
    manifests = render_manifests(_settings(**{"host.replicas": 3, "host.gpus": "0,1,2"}))
    assert _by_kind(manifests)["Deployment"]["spec"]["replicas"] == 3
    assert _container(manifests)["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    # an explicit option wins over the settings
    pods = render_manifests(_settings(**{"host.replicas": 3}), KubeOptions(replicas=2))
    assert _by_kind(pods)["Deployment"]["spec"]["replicas"] == 2
