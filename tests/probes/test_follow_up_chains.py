"""Event-driven chains through the real engine: a failed Dagster step's finding wakes the built-in follow-ups.

A run that failed on an unknown host makes resolve_everywhere compare that host across vantages; a run that got a
422 from the catalog makes catalog_sts try the catalog's AssumeRole (against the Polaris stand-in over moto). The
Dagster finding is posted by a small probe standing in for dagster_runs, so the chain is what is under test.
"""

from __future__ import annotations

from typing import Any

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.probes.catalog_sts import catalog_sts
from floe_agents.probes.resolve_everywhere import resolve_everywhere
from floe_agents.registry import Registry, probe
from floe_agents.runner import RunOptions
from floe_agents.swarm import Plan, investigate
from floe_lab.polaris import RunningPolaris
from tests.support.polaris import (
    CLIENT_ID,
    CLIENT_SECRET,
    LOCALSTACK,
    PolarisS3,
    polaris_create_catalog,
    standin_components,
)


def step_failure(code: str, **evidence: Any) -> Any:
    @probe("runs", components=["dagster-daemon"])
    async def runs(ctx: ProbeContext) -> Finding:
        summary = f"step bronze_orders failed: {evidence}"
        return ctx.finding(Status.FAIL, code, summary, subject="demo_pipeline/bronze_orders", evidence=evidence)

    return runs


def targets(components: dict[str, Any], cluster_hosts: dict[str, str], **extra: Any) -> Targets:
    return Targets.model_validate(
        {
            "vantages": {"local": {"resolver": "hosts", "hosts": {"localstack": "127.0.0.1"}},
                         "cluster": {"resolver": "hosts", "hosts": cluster_hosts}},
            "components": {"dagster-daemon": {"endpoints": {}}, **components},
            **extra,
        }
    )  # fmt: skip


async def test_unknown_host_in_a_step_is_resolved_from_every_vantage() -> None:
    registry = Registry.of([step_failure("dagster.step_failed_unknown_host", host="localstack"), resolve_everywhere])
    plan = Plan(targets=targets({}, {LOCALSTACK: "10.96.0.20"}), registry=registry, options=RunOptions(deadline_s=10))
    result = await investigate(plan)
    [trigger] = [f for f in result.analysis.findings if f.code == "dagster.step_failed_unknown_host"]
    [mismatch] = [f for f in result.analysis.findings if f.code == "dns.vantage_mismatch"]
    assert mismatch.follow_up_of == trigger.key
    assert (mismatch.evidence["resolves_in"], mismatch.evidence["fails_in"]) == (["local"], ["cluster"])
    assert result.report.follow_ups == [f"resolve_everywhere <- {trigger.key} [dagster.step_failed_unknown_host]"]
    # The step failure is a symptom of the name that only the laptop knows.
    [cause] = result.analysis.root_causes
    assert cause.rule == "endpoint-host-vantage-mismatch"
    assert [s.finding.key for s in cause.symptoms] == [trigger.key]


async def test_catalog_422_in_a_step_tries_the_catalogs_assume_role(
    polaris: RunningPolaris, polaris_s3: PolarisS3
) -> None:
    created = await polaris_create_catalog(polaris, polaris_s3, stsEndpoint="https://sts.us-east-1.amazonaws.com")
    assert created.status_code == 201
    registry = Registry.of(
        [step_failure("dagster.step_failed_catalog_error", status=422, table="demo.raw_orders"), catalog_sts]
    )
    creds = {"polaris_client_id": CLIENT_ID, "polaris_client_secret": CLIENT_SECRET}
    components = standin_components(polaris, polaris_s3)
    for comp in components.values():
        comp["enabled"] = False  # only the chain runs; the catalog is still reachable through its URLs
    plan = Plan(
        targets=targets(components, {LOCALSTACK: "10.96.0.20"}, credentials=creds),
        registry=registry,
        options=RunOptions(deadline_s=15),
    )
    result = await investigate(plan)
    [trigger] = [f for f in result.analysis.findings if f.code == "dagster.step_failed_catalog_error"]
    [sts] = [f for f in result.analysis.findings if f.code == "sts.assume_role_failed"]
    assert (sts.component, sts.follow_up_of, sts.evidence["sts_host"]) == (
        "polaris", trigger.key, "sts.us-east-1.amazonaws.com")  # fmt: skip
    [cause] = result.analysis.root_causes
    assert cause.rule == "credential-vending-failure"
    assert [s.finding.key for s in cause.symptoms] == [trigger.key]
