"""polaris.fix_storage_config against the sts-credential-vending lab (a roleArn without stsUnavailable, STS at a
host the cluster cannot reach): the cause as polaris + catalog_sts diagnose it, a planned PUT dropping roleArn and
stsEndpoint and setting stsUnavailable, nothing changed by planning; a stale entityVersion (someone updated the
catalog after we planned) answered by re-reading and re-planning once; the fault gone for catalog_sts; idempotent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from floe_agents.probes.catalog_sts import catalog_sts
from floe_agents.probes.polaris import polaris
from floe_agents.remediations.polaris_fix_storage import spec as fix_storage
from tests.remediations._polaris_lab import applied, cause_of, heal_context, lab_for, management, params_for, planned
from tests.support.lab import LabHandle, findings_of, probe_findings

pytestmark = [
    pytest.mark.lab,
    pytest.mark.anyio,
    pytest.mark.timeout(900),  # the module's lab comes up and down inside its tests' setup and teardown
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    yield from lab_for("sts-credential-vending", tmp_path_factory.mktemp("lab-fix-sts"))


async def test_drops_the_role_and_sets_sts_unavailable_replanning_once_on_a_stale_version(lab: LabHandle) -> None:
    cause = await cause_of(lab, "credential-vending-failure", polaris, catalog_sts)
    warehouse = cause.cause.evidence["warehouse"]
    before = management(lab, "GET", f"catalogs/{warehouse}").json()
    storage = before["storageConfigInfo"]
    assert storage["roleArn"] and storage.get("stsUnavailable") is not True
    async with heal_context(lab) as ctx:
        params = params_for(ctx, "fix-catalog-storage", 0, cause.cause.evidence)
        steps = await planned(fix_storage, ctx, params)
        assert len(steps) == 1
        want = {k: v for k, v in storage.items() if k not in ("roleArn", "stsEndpoint")} | {"stsUnavailable": True}
        assert steps[0].action.body == {"currentEntityVersion": before["entityVersion"], "storageConfigInfo": want}
        assert management(lab, "GET", f"catalogs/{warehouse}").json() == before  # planning changed nothing

        # Someone else updates the catalog between our plan and our PUT: the planned version is stale (409).
        bumped = management(
            lab,
            "PUT",
            f"catalogs/{warehouse}",
            {"currentEntityVersion": before["entityVersion"], "properties": {**before["properties"], "owner": "ops"}},
        )
        assert bumped.status_code == 200, bumped.text
        (change,) = await applied(steps)
        after = management(lab, "GET", f"catalogs/{warehouse}").json()
        assert after["storageConfigInfo"] == want
        assert after["properties"]["owner"] == "ops"  # the other writer's change survives: re-read, not forced
        assert after["entityVersion"] == before["entityVersion"] + 2
        assert change.before == storage

        assert await planned(fix_storage, ctx, params) == ()  # idempotent
    sts = findings_of(await probe_findings(lab, polaris, catalog_sts), "catalog_sts")
    assert {f.code for f in sts} <= {"sts.not_used"}
    codes = {f.code for f in findings_of(await probe_findings(lab, polaris), "polaris")}
    assert "polaris.role_without_sts" not in codes and "polaris.storage_ok" in codes
