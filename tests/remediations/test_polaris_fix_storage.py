"""polaris.fix_storage_config against the s3-endpoint-mismatch lab (the catalog registered with a laptop-only
endpoint and virtual-host addressing): the fix-catalog-storage playbook's parameters filled from the diagnosed
cause, one exact PUT with currentEntityVersion planned and nothing changed, the run fixing endpoint and
pathStyleAccess on the server (everything else as it was), the polaris probe's storage findings gone, a second
plan that is empty, and the seed steps that failed behind the broken config now writing the tables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from floe_agents.probes.iceberg import iceberg
from floe_agents.probes.polaris import polaris
from floe_agents.remediations.iceberg_seed_tables import spec as seed_tables
from floe_agents.remediations.polaris_fix_storage import spec as fix_storage
from tests.remediations._polaris_lab import applied, cause_of, heal_context, lab_for, management, params_for, planned
from tests.support.lab import LabHandle, findings_of, probe_findings

pytestmark = [
    pytest.mark.lab,
    pytest.mark.anyio,
    pytest.mark.timeout(900),  # the module's lab comes up and down inside its tests' setup and teardown
]

PLATFORM_ENDPOINT = "http://floe-infra-localstack:4566"  # the lab's platform.yaml storage endpoint


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    yield from lab_for("s3-endpoint-mismatch", tmp_path_factory.mktemp("lab-fix-storage"))


async def test_fixes_endpoint_and_path_style_in_one_versioned_put(lab: LabHandle) -> None:
    cause = await cause_of(lab, "storage-endpoint-mismatch", polaris)
    warehouse = cause.cause.evidence["warehouse"]
    before = management(lab, "GET", f"catalogs/{warehouse}").json()
    assert before["storageConfigInfo"]["endpoint"] != PLATFORM_ENDPOINT
    async with heal_context(lab) as ctx:
        params = params_for(ctx, "fix-catalog-storage", 0, cause.cause.evidence)
        steps = await planned(fix_storage, ctx, params)
        assert len(steps) == 1
        action = steps[0].action
        assert action.target.startswith("PUT ") and action.target.endswith(f"/api/management/v1/catalogs/{warehouse}")
        want = {**before["storageConfigInfo"], "endpoint": PLATFORM_ENDPOINT, "pathStyleAccess": True}
        assert action.body == {"currentEntityVersion": before["entityVersion"], "storageConfigInfo": want}
        assert management(lab, "GET", f"catalogs/{warehouse}").json() == before  # planning changed nothing

        (change,) = await applied(steps)
        assert change.before == before["storageConfigInfo"]
        after = management(lab, "GET", f"catalogs/{warehouse}").json()
        assert after["storageConfigInfo"] == want
        assert after["entityVersion"] == before["entityVersion"] + 1
        assert after["properties"] == before["properties"]

        assert await planned(fix_storage, ctx, params) == ()  # idempotent
    codes = {f.code for f in findings_of(await probe_findings(lab, polaris), "polaris")}
    assert "polaris.storage_ok" in codes
    assert not codes & {"polaris.storage_endpoint_mismatch", "polaris.virtual_host_addressing"}


async def test_the_seeding_that_failed_behind_the_broken_config_now_works(lab: LabHandle) -> None:
    evidence = {"warehouse": "demo_catalog"}
    async with heal_context(lab) as ctx:
        for index in (1, 2):
            params = params_for(ctx, "fix-catalog-storage", index, evidence)
            await applied(await planned(seed_tables, ctx, params))
            assert await planned(seed_tables, ctx, params) == ()
    assert {f.code for f in findings_of(await probe_findings(lab, iceberg), "iceberg")} == {"iceberg.table_ok"}
