"""The committed report schema is strict: what a consumer may rely on is required, closed and enumerated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from floe_agents.analysis import Analysis
from floe_agents.events import RunRecord
from floe_agents.findings import Finding, Status
from floe_agents.redact import Redactor
from floe_agents.report import build_report, render_json

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "report.schema.json").read_text())


def _report() -> dict[str, Any]:
    from floe_agents.coordinator import Coordinator  # noqa: PLC0415

    coordinator = Coordinator()
    coordinator.observe(
        Finding(component="s3", check="tcp", status=Status.FAIL, code="tcp.refused", summary="refused", subject="x")
    )
    analysis: Analysis = coordinator.analyze()
    report = build_report(analysis, RunRecord(), vantage="local", namespace="floe", wall_s=0.5, deadline_s=20)
    data: dict[str, Any] = json.loads(render_json(report, Redactor()))
    return data


def _errors(doc: dict[str, Any]) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc)]


def test_a_real_report_validates() -> None:
    doc = _report()
    assert doc["schema_version"] == "1.0" and doc["exit_code"] == 2
    assert _errors(doc) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("schema_version"), "'schema_version' is a required property"),
        (lambda d: d.pop("tool_version"), "'tool_version' is a required property"),
        (lambda d: d.update(schema_version="2.0"), "'1.0' was expected"),
        (lambda d: d.update(exit_code=7), "7 is not one of [0, 1, 2, 3]"),
        (lambda d: d.update(exit_code="2"), "'2' is not one of [0, 1, 2, 3]"),
        (lambda d: d.update(overall="broken"), "'broken' is not one of"),
        (lambda d: d.update(surprise=True), "Additional properties are not allowed ('surprise' was unexpected)"),
    ],
    ids=["no-schema-version", "no-tool-version", "other-version", "exit-7", "exit-str", "overall", "extra"],
)
def test_a_broken_report_fails_validation(change: Any, problem: str) -> None:
    doc = _report()
    change(doc)
    errors = _errors(doc)
    assert any(problem in e for e in errors), errors
