"""JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters): one `<testcase>` per check.

Failed checks carry a `<failure>` with the detail, skipped ones a `<skipped>`; times are in seconds. Each
engine's checks have their own class name (`orchestrator-smoke` for TGI, `orchestrator-smoke.vllm` for vLLM),
so a CI dashboard keeps the two apart.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from orchestrator.smoke.results import CheckStatus, SmokeReport

__all__ = ["SUITE_NAME", "to_junit_xml", "write_junit_xml"]

SUITE_NAME = "orchestrator-smoke"


def to_junit_xml(report: SmokeReport) -> str:
    """The report as a JUnit XML document (one `<testsuite>` inside `<testsuites>`)."""
    counts = {
        "tests": str(len(report.results)),
        "failures": str(report.count(CheckStatus.FAIL)),
        "errors": "0",
        "skipped": str(report.count(CheckStatus.SKIP)),
        "time": f"{report.duration_s:.3f}",
    }
    root = ET.Element("testsuites", {"name": SUITE_NAME, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE_NAME, **counts, "timestamp": report.started_at})
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "url", "value": report.url})
    classname = SUITE_NAME
    if report.engine != "tgi":  # TGI's names stay what CI already tracks
        ET.SubElement(props, "property", {"name": "engine", "value": report.engine})
        classname = f"{SUITE_NAME}.{report.engine}"
    for result in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": classname, "name": result.name, "time": f"{result.duration_s:.3f}"},
        )
        if result.status is CheckStatus.FAIL:
            message = result.detail if len(result.detail) <= 200 else result.detail[:199] + "…"
            failure = ET.SubElement(case, "failure", {"message": message, "type": "SmokeCheckFailed"})
            failure.text = result.detail
        elif result.status is CheckStatus.SKIP:
            ET.SubElement(case, "skipped", {"message": result.detail})
        else:
            out = ET.SubElement(case, "system-out")
            out.text = result.detail
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit_xml(report: SmokeReport, path: Path) -> None:
    """Write the XML, creating parent directories (CI artefact folders often do not exist yet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_junit_xml(report), encoding="utf-8")
