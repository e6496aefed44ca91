"""``--sink`` values: every form the CLI documents, and one clear reason for each that names no sink."""

from __future__ import annotations

import re

import pytest

from floe_agents.sinks.spec import DEFAULT_KEEP, SinkSpec, parse_sink


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("stdout", SinkSpec("stdout")),
        ("file:/tmp/r.md", SinkSpec("file", "/tmp/r.md")),
        ("configmap:floe-agents-report", SinkSpec("configmap", "floe-agents-report")),
        (
            "configmap:ops/floe-agents-report?keep=3",
            SinkSpec("configmap", "floe-agents-report", namespace="ops", keep=3),
        ),
        ("s3://floe-reports", SinkSpec("s3", "floe-reports")),
        ("s3://floe-reports/agents/daily/", SinkSpec("s3", "floe-reports", prefix="agents/daily")),
    ],
)
def test_each_documented_form(text: str, spec: SinkSpec) -> None:
    assert parse_sink(text) == spec
    assert parse_sink("configmap:x").keep == DEFAULT_KEEP


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ftp://x", "is not a sink: use stdout, file:PATH"),
        ("file:", "a path is needed"),
        ("configmap:Bad_Name", "configmap name 'Bad_Name' is not a valid Kubernetes name"),
        ("configmap:", "configmap name '' is not a valid Kubernetes name"),
        ("configmap:x?keep=0", "keep='0' is not a number from 1 to 1000"),
        ("configmap:x?keep=many", "keep='many'"),
        ("configmap:x?max=3", "unknown option 'max'"),
        ("s3://", "'' is not a valid bucket name"),
        ("s3://Upper/x", "'Upper' is not a valid bucket name"),
    ],
)
def test_a_spec_that_names_no_sink_says_why_in_one_line(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)) as caught:
        parse_sink(text)
    assert reason in str(caught.value) and "\n" not in str(caught.value)


def test_how_a_sink_is_named_in_messages() -> None:
    assert parse_sink("configmap:r").describe("floe") == "configmap floe/r"
    assert parse_sink("configmap:ops/r").describe("floe") == "configmap ops/r"
    assert parse_sink("s3://bkt/p").describe() == "s3://bkt/p"
    assert parse_sink("file:out/r.md").describe() == "out/r.md"
