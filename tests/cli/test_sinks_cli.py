"""``--sink`` on the real executable: a spec that names no sink is one usage line (exit 3); a sink that fails leaves
the report, with its ``sink.failed`` finding, in every other sink, and the run exits 3 (the report says 3 too)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]

from tests.support.cli import floe_agents, one_component_targets
from tests.support.net import closed_port

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "report.schema.json").read_text())


def test_a_sink_spec_that_names_no_sink_is_one_usage_line() -> None:
    result = floe_agents("investigate", "--sink", "configmap:Bad_Name")
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        "floe-agents: error: Invalid value for '--sink': configmap name 'Bad_Name' is not a valid Kubernetes name"
    ]


def test_a_failing_sink_is_a_finding_in_the_others_and_exit_3(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{closed_port()}"
    path = one_component_targets(tmp_path, kubernetes={"mode": "url", "url": api})
    report = tmp_path / "out" / "report.json"
    result = floe_agents(
        "investigate", "--target", str(path), "--json", "--timeout", "10",
        "--sink", "configmap:floe-agents-report", "-o", str(report), "--sink", "stdout",
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("floe-agents: error")]
    assert len(errors) == 1
    assert errors[0].startswith("floe-agents: error: configmap floe/floe-agents-report: cannot write report (")
    assert f"report written to {report}" in result.stderr
    doc = json.loads(report.read_text())
    assert json.loads(result.stdout) == doc  # stdout got the same report
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["exit_code"] == 3 and doc["overall"] == "fail"  # the platform's health stays the platform's
    [failed] = [f for f in doc["other_findings"] if f["code"] == "sink.failed"]
    assert failed["component"] == "floe-agents" and failed["subject"] == "configmap floe/floe-agents-report"
    assert failed["evidence"]["sink"] == "configmap"
