"""`status` shows the plan's predicted KV capacity beside the engine's: a real emulator process reports its
`max_batch_total_tokens` (the `tgi_batch_max_total_tokens` gauge; TGI 3's `/info` lacks the field)."""

from __future__ import annotations

import urllib.request

from orchestrator.cli.deploy_cmd import STATUS_HEADERS, kv_capacity_cell, status_rows
from orchestrator.deploy.capacity import PREDICTED_KV_LABEL, with_predicted_capacity
from orchestrator.deploy.status import probe_status
from orchestrator.formats.prometheus import gauge, parse_prometheus
from orchestrator.launch.labels import label
from orchestrator.launch.plan import build_plan
from orchestrator.runtime.containers import ContainerInfo
from tests.fixtures.emulator import EmulatorProcess
from tests.gpu.recorded import H100, report


def test_the_cell_shows_what_was_lost() -> None:
    assert kv_capacity_cell(1_046_675, 1_001_472) == "1,046,675/1,001,472 (-4%)"
    assert kv_capacity_cell(None, 16_000) == "-/16,000"
    assert kv_capacity_cell(None, None) == "-/-"
    assert STATUS_HEADERS[-1] == "KV TOK PLAN/ENGINE"


def test_up_labels_the_prediction_outside_the_settings_hash(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    plan = build_plan(settings, gpu_count=1)
    labelled = with_predicted_capacity(plan, settings, report(H100))
    assert int(labelled.labels[PREDICTED_KV_LABEL]) > 400_000
    assert labelled.settings_hash == plan.settings_hash
    assert with_predicted_capacity(plan, settings, None) is plan


class _Engine:
    def logs(self, container_id: str, *, tail: int | None = None) -> list[str]:
        return []


def test_status_compares_prediction_and_the_engines_budget() -> None:
    with EmulatorProcess() as server:
        with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as answer:
            series = parse_prometheus(answer.read().decode())
        budget = round(gauge(series, "tgi_batch_max_total_tokens") or 0)
        labels = {
            label("managed"): "true",
            label("name"): "cap",
            label("port"): str(server.port),
            label("tgi-version"): "3.3.7",
            PREDICTED_KV_LABEL: str(budget + budget // 4),
        }
        container = ContainerInfo("c1", "cap", "img", "running", None, False, "", None, None, 0, None, labels)
        row = probe_status(_Engine(), container)  # type: ignore[arg-type]
    assert row.phase == "ready"
    assert budget > 0 and (row.kv_tokens_predicted, row.kv_tokens_reported) == (budget + budget // 4, budget)
    assert row.to_json()["kv_tokens_reported"] == budget
    assert status_rows([row])[0][-1].endswith("(-20%)")
