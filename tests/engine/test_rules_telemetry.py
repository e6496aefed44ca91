"""Telemetry that arrives but not as configured: each rule names both sides (what arrives, what platform.yaml
says), on the side that can be fixed; Jaeger's view alone still names both names."""

from __future__ import annotations

from floe_agents.analysis import analyze
from floe_agents.findings import Finding, Status
from floe_agents.rules import builtin_rules
from floe_agents.topology import floe_topology


def finding(component: str, code: str, **evidence: str) -> Finding:
    return Finding(component=component, check=component, status=Status.WARN, code=code, summary=code,
                   subject="s", evidence=evidence)  # fmt: skip


def test_jaeger_alone_names_what_arrives_and_what_is_expected() -> None:
    seen = finding("jaeger", "jaeger.service_name_mismatch", arriving="a, b", configured_service="want")
    (rc,) = analyze([seen], builtin_rules(), floe_topology()).root_causes
    assert (rc.rule, rc.component) == ("traces-under-another-name", "jaeger")
    assert rc.title == "Traces arrive as a, b, but platform.yaml expects the service want"


def test_a_workload_sending_elsewhere_is_named_with_both_endpoints() -> None:
    sent = finding("cube", "emitters.otlp_endpoint_differs", deployment="cube-api",
                   otlp_endpoint="http://gw:4318", configured_endpoint="http://collector:4317")  # fmt: skip
    (rc,) = analyze([sent], builtin_rules(), floe_topology()).root_causes
    assert (rc.rule, rc.component) == ("telemetry-endpoint-differs", "cube")
    assert rc.title == "cube-api sends its traces to http://gw:4318, not to platform.yaml's http://collector:4317"
