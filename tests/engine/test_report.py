"""Reports: never a secret (canary), Markdown and JSON from one model, the JSON schema is the documented one."""

from __future__ import annotations

import json
from pathlib import Path

from floe_agents.config.platform import PlatformConfig
from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.events import RunRecord
from floe_agents.findings import Code, Finding, Status
from floe_agents.redact import Redactor
from floe_agents.registry import Registry, probe
from floe_agents.report import build_report, render_json, render_markdown
from floe_agents.report.model import Report, report_json_schema
from floe_agents.swarm import Investigation, Plan, investigate

CANARY = "canary-secret-7f3a9c"
SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "report.schema.json"


@probe("leaky", components=["polaris", "s3"])
async def leaky(ctx: ProbeContext) -> list[Finding]:
    # A careless probe: the secret shows up in an error message under an innocent key, and in a URL.
    return [
        ctx.finding(
            Status.FAIL,
            Code.HTTP_AUTH_FAILED,
            f"token request with {CANARY} was refused",
            subject="oauth",
            evidence={
                "detail": f"server said: bad client secret {CANARY}",
                "url": f"http://demo_client:{CANARY}@floe-infra-polaris:8181",
            },
        ),
        ctx.finding(Status.OK, Code.TCP_OPEN, "fine", subject="x:1"),
    ]


def plan() -> Plan:
    platform = PlatformConfig.model_validate(
        {
            "catalogs": {
                "default": {
                    "uri": "http://floe-infra-polaris:8181/api/catalog",
                    "warehouse": "demo_catalog",
                    "credentials": {"mode": "oauth2", "client_id": "demo_client", "client_secret": CANARY},
                }
            },
        }
    )
    targets = Targets.model_validate({"vantages": {"local": {}}, "components": {"polaris": {}, "s3": {}}})
    return Plan(targets=targets, registry=Registry.of([leaky]), platform=platform)


async def run() -> tuple[Investigation, Report]:
    result = await investigate(plan())
    return result, result.report


async def test_canary_secret_never_reaches_any_report() -> None:
    result, report = await run()
    redactor = result.plan.redactor()
    markdown = render_markdown(report, redactor)
    as_json = render_json(report, redactor)
    assert CANARY not in markdown and CANARY not in as_json
    assert "***REDACTED***" in markdown and "token request with ***REDACTED*** was refused" in as_json
    # ...while the non-secret parts stay readable.
    assert "demo_client" in as_json and "floe-infra-polaris" in markdown


async def test_markdown_has_every_section_and_json_round_trips() -> None:
    result, report = await run()
    markdown = render_markdown(report, result.plan.redactor())
    for heading in (
        "## Executive summary",
        "## Component health",
        "## Root causes",
        "## Other findings",
        "## Timings per agent",
        "## Next steps",
    ):
        assert heading in markdown
    assert "FAILING" in markdown and "| polaris | ❌ fail |" in markdown
    data = json.loads(render_json(report, result.plan.redactor()))
    again = Report.model_validate(data)
    assert again.exit_code == 2 and again.overall is Status.FAIL
    # s3 ranks first: polaris depends on s3, so the deeper component's fault comes first.
    assert [(rc.rule, rc.component) for rc in again.root_causes] == [
        ("component-unhealthy", "s3"),
        ("component-unhealthy", "polaris"),
    ]


def test_json_schema_file_matches_the_model() -> None:
    current = json.dumps(report_json_schema(), indent=2, sort_keys=True) + "\n"
    assert SCHEMA_FILE.read_text() == current, (
        "docs/report.schema.json is out of date: if the change is deliberate, bump REPORT_SCHEMA_VERSION and "
        "regenerate with `floe-agents schema > docs/report.schema.json`"
    )


def test_fix_steps_are_filled_from_the_cause_and_the_namespace() -> None:
    from floe_agents.coordinator import Coordinator  # noqa: PLC0415
    from floe_agents.rules import fill  # noqa: PLC0415

    secret = Finding(
        component="dagster-webserver",
        check="kubernetes",
        status=Status.FAIL,
        code="k8s.secret_key_missing",
        summary="Secret floe-dagster-postgresql-secret has no key 'postgresql-password'",
        subject="secret/floe-dagster-postgresql-secret/postgresql-password",
        evidence={"secret_name": "floe-dagster-postgresql-secret", "key": "postgresql-password", "exists": True},
    )
    coordinator = Coordinator()
    coordinator.observe(secret)
    analysis = coordinator.analyze()
    report = build_report(analysis, RunRecord(), vantage="local", namespace="floe-prod", wall_s=0, deadline_s=1)
    [cause] = report.root_causes
    assert any(
        "kubectl -n floe-prod create secret generic floe-dagster-postgresql-secret "
        "--from-literal=postgresql-password=<value>" in step
        for step in cause.remediation.manual
    ), cause.remediation.manual
    assert "kubectl -n floe-prod create secret" in report.next_steps[0]
    assert "postgresql-password=<value>." in render_markdown(report, Redactor())  # not taken for a secret
    assert analysis.root_causes[0].remediation.manual != cause.remediation.manual  # the analysis keeps templates

    whole = secret.model_copy(update={"evidence": {"secret_name": "s", "key": None}})
    assert (
        fill("{evidence.secret_name} {evidence.key} {evidence.nope} {namespace}", whole) == "s <key> <nope> <namespace>"
    )
    body = 'POST /v1/{evidence.secret_name}/namespaces {"namespace": ["<name>"]} in {component}'
    assert fill(body, whole) == 'POST /v1/s/namespaces {"namespace": ["<name>"]} in dagster-webserver'
