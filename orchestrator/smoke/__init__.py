"""`orchestrator smoke`: post-deployment checks of a TGI endpoint, for people (table) and CI (JSON, JUnit XML).

Layers: `http` is the only network seam, `sse` and `checks` hold the logic, `runner` times and collects,
`render`/`junit` turn a `SmokeReport` into output. `orchestrator.cli.smoke_cmd` wires them to settings.
"""

from __future__ import annotations

from orchestrator.smoke.checks import CHECKS, REQUIRED_METRICS, Check, CheckContext, Expectations
from orchestrator.smoke.http import HttpReply, HttpxSmokeHttp, SmokeHttp
from orchestrator.smoke.junit import to_junit_xml, write_junit_xml
from orchestrator.smoke.render import summary_line, table_rows, to_json_data
from orchestrator.smoke.results import CheckResult, CheckStatus, SmokeReport
from orchestrator.smoke.runner import DEFAULT_TIMEOUT, run_smoke

__all__ = [
    "CHECKS",
    "DEFAULT_TIMEOUT",
    "REQUIRED_METRICS",
    "Check",
    "CheckContext",
    "CheckResult",
    "CheckStatus",
    "Expectations",
    "HttpReply",
    "HttpxSmokeHttp",
    "SmokeHttp",
    "SmokeReport",
    "run_smoke",
    "summary_line",
    "table_rows",
    "to_json_data",
    "to_junit_xml",
    "write_junit_xml",
]
