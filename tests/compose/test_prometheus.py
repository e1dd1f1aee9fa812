"""The `monitoring` profile's Prometheus configuration, exercised for real: Debian's `prometheus` (2.42) runs the
checked-in config (scrape target templated to a loopback emulator), scrapes the emulator's /metrics, and TGI's
metric names, the recording rules and every dashboard query are answered from it."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.smoke import REQUIRED_METRICS
from tests.compose.conftest import COMPOSE_DIR
from tests.fixtures.docker_engine import require_or_skip
from tests.fixtures.emulator import EmulatorProcess, free_port

PROMETHEUS_DIR = COMPOSE_DIR / "prometheus"
DASHBOARD = COMPOSE_DIR / "grafana" / "tgi-dashboard.json"


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        require_or_skip(f"`{name}` is not installed (Debian package prometheus)")
    return str(path)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _traffic(emu: EmulatorProcess) -> None:
    """A few requests so TGI's series exist (they appear on first use), one of them a 422."""
    for inputs in ("[INST] hello [/INST]", "[INST] again [/INST]", "word " * 5000):
        body = json.dumps({"inputs": inputs, "parameters": {"max_new_tokens": 4}}).encode()
        request = urllib.request.Request(f"{emu.url}/generate", body, {"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=10).read()
        except urllib.error.HTTPError as exc:
            assert exc.code == 422


def templated_config(tmp_path: Path, target: str) -> Path:
    """The checked-in prometheus.yml with only the scrape target and the rules path changed."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["tgi:80"]  # what Compose resolves
    job["static_configs"][0]["targets"] = [target]
    config["rule_files"] = [str(PROMETHEUS_DIR / "rules.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prometheus scraping a busy emulator; yields Prometheus' base URL once it has TGI data."""
    prometheus = _binary("prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    with EmulatorProcess(["--max-input-tokens", "3696", "--max-total-tokens", "4096"]) as emu:
        _traffic(emu)
        config = templated_config(tmp, f"127.0.0.1:{emu.port}")
        port = free_port()
        log = (tmp / "prometheus.log").open("wb")
        process = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, (tmp / "prometheus.log").read_text()
                try:
                    result = _get(f"{base}/api/v1/query?query=tgi_request_count")["data"]["result"]
                    if result:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "no tgi_request_count in Prometheus after 60 s"
                time.sleep(0.5)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    answer = _get(f"{base}/api/v1/query?query={urllib.parse.quote(expr)}")
    assert answer["status"] == "success", (expr, answer)
    result = answer["data"]["result"]
    assert isinstance(result, list)
    return result


def test_promtool_accepts_the_config_and_rules(tmp_path: Path) -> None:
    promtool = _binary("promtool")
    config = templated_config(tmp_path, "127.0.0.1:8080")
    for args in (["check", "config", str(config)], ["check", "rules", str(PROMETHEUS_DIR / "rules.yml")]):
        done = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_tgi_request_count_is_scraped_with_the_job_label(scraped: str) -> None:
    (series,) = _query(scraped, "sum by (job, deployment) (tgi_request_count)")
    assert series["metric"] == {"job": "tgi", "deployment": "tgi-mistral"}
    assert float(series["value"][1]) >= 3
    assert float(_query(scraped, 'up{job="tgi"}')[0]["value"][1]) == 1


def test_every_tgi_metric_name_smoke_requires_is_queryable(scraped: str) -> None:
    names = set(_get(f"{scraped}/api/v1/label/__name__/values")["data"])
    for metric in REQUIRED_METRICS:
        assert metric in names or f"{metric}_bucket" in names, metric
    failures = _query(scraped, "tgi_request_failure")
    assert any(s["metric"].get("err") == "validation" for s in failures)


def test_every_dashboard_query_is_valid_promql_on_real_data(scraped: str) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 8
    for expr in exprs:
        _query(scraped, expr.replace("$__rate_interval", "1m").replace("$job", "tgi"))
    # Gauges need no rate window: the queue/batch panel has data already.
    assert _query(scraped, 'sum(tgi_queue_size{job="tgi"})')


def test_recording_rules_and_alerts_are_loaded(scraped: str) -> None:
    groups = _get(f"{scraped}/api/v1/rules")["data"]["groups"]
    rules = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert {"tgi:request_rate:1m", "TGIDown", "TGIOverloaded"} <= set(rules)
    assert all(rule.get("lastError", "") == "" for rule in rules.values())
