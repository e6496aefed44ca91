"""polaris.create_catalog against the missing-warehouse lab (no catalog at all): the create-catalog playbook's
parameters filled from the diagnosed cause, a plan of the exact management-API requests that changes nothing,
a run that creates the catalog with platform.yaml's storage config, its role, grants and assignment, the fault
gone on the server and for the polaris probe, and a second plan that is empty. Then the playbook's other steps
(namespaces, seed tables) bring the catalog to what the iceberg probe calls healthy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from floe_agents.findings import Status
from floe_agents.probes.iceberg import iceberg
from floe_agents.probes.polaris import polaris
from floe_agents.remediations.iceberg_seed_tables import spec as seed_tables
from floe_agents.remediations.polaris_create_catalog import FLOE_PRIVILEGES
from floe_agents.remediations.polaris_create_catalog import spec as create_catalog
from floe_agents.remediations.polaris_create_namespaces import spec as create_namespaces
from tests.remediations._polaris_lab import applied, cause_of, heal_context, lab_for, management, params_for, planned
from tests.support.lab import LabHandle, findings_of, probe_findings

pytestmark = [
    pytest.mark.lab,
    pytest.mark.anyio,
    pytest.mark.timeout(900),  # the module's lab comes up and down inside its tests' setup and teardown
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    yield from lab_for("missing-warehouse", tmp_path_factory.mktemp("lab-create-catalog"))


async def test_creates_the_catalog_with_platform_storage_role_grants_and_assignment(lab: LabHandle) -> None:
    cause = await cause_of(lab, "missing-warehouse", polaris)
    warehouse = cause.cause.evidence["warehouse"]
    async with heal_context(lab) as ctx:
        params = params_for(ctx, "create-catalog", 0, cause.cause.evidence)
        steps = await planned(create_catalog, ctx, params)
        shown = [(s.action.verb, s.action.target.split(" ", 1)[0], s.action.target.split("/api/", 1)[1]) for s in steps]
        role = params["catalog_role"]
        assert shown == [
            ("create", "POST", "management/v1/catalogs"),
            ("create", "POST", f"management/v1/catalogs/{warehouse}/catalog-roles"),
            *[("create", "PUT", f"management/v1/catalogs/{warehouse}/catalog-roles/{role}/grants")] * 12,
            ("create", "PUT", f"management/v1/principal-roles/service_admin/catalog-roles/{warehouse}"),
        ]
        body = steps[0].action.body
        assert isinstance(body, dict)
        assert body["catalog"] == {
            "type": "INTERNAL",
            "name": warehouse,
            "properties": {"default-base-location": "s3://iceberg-bronze/"},
            "storageConfigInfo": {
                "storageType": "S3",
                "allowedLocations": ["s3://iceberg-bronze/", "s3://iceberg-gold/", "s3://iceberg-silver/"],
                "pathStyleAccess": True,
                "endpoint": "http://floe-infra-localstack:4566",
                "region": "us-east-1",
                "stsUnavailable": True,
            },
        }
        assert [s.action.body for s in steps[2:14]] == [
            {"grant": {"type": "catalog", "privilege": p}} for p in FLOE_PRIVILEGES
        ]
        missing = management(lab, "GET", f"catalogs/{warehouse}")  # planning changed nothing
        assert missing.status_code == 404 and missing.json()["error"]["type"] == "NotFoundException"

        changes = await applied(steps)
        assert [c.action for c in changes] == [s.action for s in steps]
        got = management(lab, "GET", f"catalogs/{warehouse}").json()
        assert got["storageConfigInfo"]["endpoint"] == "http://floe-infra-localstack:4566"
        assert got["storageConfigInfo"]["pathStyleAccess"] is True
        grants = management(lab, "GET", f"catalogs/{warehouse}/catalog-roles/{role}/grants").json()["grants"]
        assert {g["privilege"] for g in grants} == set(FLOE_PRIVILEGES)
        roles = management(lab, "GET", f"principal-roles/service_admin/catalog-roles/{warehouse}").json()["roles"]
        assert role in {r["name"] for r in roles}

        assert await planned(create_catalog, ctx, params) == ()  # idempotent: nothing left to do
    after = await probe_findings(lab, polaris)
    codes = {f.code for f in findings_of(after, "polaris")}
    assert "polaris.warehouse_missing" not in codes and "polaris.storage_ok" in codes


async def test_the_rest_of_the_playbook_creates_namespaces_and_seeds_the_tables(lab: LabHandle) -> None:
    evidence = {"warehouse": "demo_catalog"}  # what the cause said (the previous test read it from the probe)
    async with heal_context(lab) as ctx:
        ns_params = params_for(ctx, "create-catalog", 1, evidence)
        ns_steps = await planned(create_namespaces, ctx, ns_params)
        assert [s.action.body for s in ns_steps] == [
            {"namespace": [ns], "properties": {"location": f"s3://iceberg-{bucket}/{ns}/"}}
            for ns, bucket in (("bronze", "bronze"), ("silver", "silver"), ("gold", "gold"), ("demo", "bronze"))
        ]
        await applied(ns_steps)
        assert await planned(create_namespaces, ctx, ns_params) == ()
        for index in (2, 3):
            params = params_for(ctx, "create-catalog", index, evidence)
            await applied(await planned(seed_tables, ctx, params))
            assert await planned(seed_tables, ctx, params) == ()
    after = await probe_findings(lab, iceberg)
    assert {f.code for f in findings_of(after, "iceberg")} == {"iceberg.table_ok"}
    assert all(f.status is Status.OK for f in findings_of(after, "iceberg"))
