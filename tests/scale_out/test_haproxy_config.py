"""The HAProxy configuration renderer: typed values in, the measured configuration out, nothing injectable."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from orchestrator.launch.haproxy_config import (
    BalancerConfig,
    BalancerServer,
    Directive,
    Text,
    render_config,
    sections,
)


def _config(**changes: Any) -> BalancerConfig:
    servers = tuple(BalancerServer(f"r{i}", "127.0.0.1", 18200 + i, 128) for i in (1, 2, 3))
    values: dict[str, Any] = dict(
        bind_address="127.0.0.1", port=18230, metrics_bind_address="127.0.0.1", metrics_port=18232,
        servers=servers, health_path="/health",
    )  # fmt: skip
    values.update(changes)
    return BalancerConfig(**values)


def _lines(config: BalancerConfig) -> list[str]:
    return [line.strip() for line in render_config(config).splitlines()]


def test_the_measured_choices_are_in_the_configuration() -> None:
    lines = _lines(_config())
    for expected in (
        "balance leastconn",
        "option http-no-delay",
        "option httpchk GET /health",
        "http-check expect status 200",
        "option redispatch 1",
        "retries 2",
        "bind 127.0.0.1:18230",
        "bind 127.0.0.1:18232",
        "stats socket /var/lib/haproxy/admin.sock mode 600 level admin",
        "server r1 127.0.0.1:18201 maxconn 128",
        "server r3 127.0.0.1:18203 maxconn 128",
    ):
        assert expected in lines, expected
    assert not any(line.startswith("retry-on") for line in lines), "only connection failures are retried"
    assert any("prometheus-exporter" in line for line in lines)
    checks = next(line for line in lines if line.startswith("default-server"))
    assert "check" in checks.split() and "rise 2" in checks and "fall 2" in checks
    assert "observe layer7 error-limit 1 on-error mark-down" in checks


def test_the_server_timeout_outlasts_the_sse_keep_alive() -> None:
    timeouts = {line.split()[1]: line.split()[2] for line in _lines(_config()) if line.startswith("timeout ")}
    assert int(timeouts["server"].rstrip("s")) > 15  # TGI's keep-alive comment comes after 15 s of silence


def test_no_per_replica_limit_when_the_engine_has_none() -> None:
    lines = _lines(_config(servers=(BalancerServer("r1", "127.0.0.1", 1, None),)))
    assert "server r1 127.0.0.1:1" in lines


def test_ipv6_addresses_are_bracketed() -> None:
    lines = _lines(_config(bind_address="::1", servers=(BalancerServer("r1", "::1", 9, 4),)))
    assert "bind [::1]:18230" in lines and "server r1 [::1]:9 maxconn 4" in lines


def test_body_limit_answers_with_the_engines_own_text() -> None:
    assert any(
        'string "Failed to buffer the request body: length limit exceeded"' in line
        for line in _lines(_config())
    )
    assert not any("content-length" in line for line in _lines(_config(body_limit=None)))


@pytest.mark.parametrize("word", ["two words", "a\nb", "x#y", "", "$HOME", 'q"'])
def test_a_token_that_would_change_the_meaning_is_refused(word: str) -> None:
    with pytest.raises(ValueError):
        Directive(("server", word))


def test_a_path_with_a_space_cannot_inject_a_directive() -> None:
    with pytest.raises(ValueError):
        render_config(_config(health_path="/health\n    server evil 1.2.3.4:80"))


def test_text_is_quoted_and_escaped() -> None:
    assert str(Text('say "hi" $x')) == '"say \\"hi\\" \\$x"'
    with pytest.raises(ValueError):
        Text("line\nbreak")


def test_sections_come_in_order() -> None:
    headers = [" ".join(s.header) for s in sections(_config())]
    assert headers == ["global", "defaults", "frontend api", "backend replicas", "frontend metrics"]


@pytest.mark.docker
def test_haproxy_accepts_the_rendered_configuration(
    docker_client: Any, haproxy_image: str, tmp_path: Path
) -> None:
    path = tmp_path / "haproxy.cfg"
    path.write_text(render_config(_config()))
    out = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "-v", f"{path}:/etc/haproxy/haproxy.cfg:ro",
         "--entrypoint", "haproxy", haproxy_image, "-c", "-f", "/etc/haproxy/haproxy.cfg"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Configuration file is valid" in out.stdout + out.stderr
