"""polaris.create_namespaces against the missing-namespace lab (the layer namespaces exist, demo — the raw tables'
— does not): the create-namespaces playbook's parameters filled from the diagnosed cause, exactly one planned
POST (the missing namespace, with its location) and nothing changed, the run creating it, a repeated run being
the 409 "already there" (done), the polaris probe's finding gone, an empty second plan, and the tables that could
not be seeded into the missing namespace seeded by the playbook's next steps. Also which namespaces are wanted
(layers, seed specs, the cause's; a warehouse-prefixed name means the namespace without the prefix)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from floe_agents.config.platform import LayerConfig
from floe_agents.probes.iceberg import iceberg
from floe_agents.probes.polaris import polaris
from floe_agents.remediations.iceberg_seed_tables import spec as seed_tables
from floe_agents.remediations.polaris_create_namespaces import CreateNamespacesParams, wanted_namespaces
from floe_agents.remediations.polaris_create_namespaces import spec as create_namespaces
from tests.remediations._polaris_lab import applied, cause_of, heal_context, lab_for, params_for, planned
from tests.support.lab import LabHandle, findings_of, probe_findings


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    yield from lab_for("missing-namespace", tmp_path_factory.mktemp("lab-create-namespaces"))


def test_wanted_namespaces_are_layers_seeds_and_the_cause_s_parents_first() -> None:
    params = CreateNamespacesParams(
        warehouse="wh",
        layers={"b": LayerConfig(namespace="bronze"), "s": LayerConfig(namespace="sales.silver")},
        seeds=("raw-tables",),
        namespaces=("wh.bronze", "extra"),
    )
    assert wanted_namespaces(params) == ["bronze", "sales", "sales.silver", "demo", "extra"]


@pytest.mark.lab
@pytest.mark.anyio
@pytest.mark.timeout(900)  # the module's lab comes up and down inside its tests' setup and teardown
async def test_creates_only_the_missing_namespace_with_its_location(lab: LabHandle) -> None:
    cause = await cause_of(lab, "missing-namespace", polaris)
    warehouse, namespace = cause.cause.evidence["warehouse"], cause.cause.evidence["namespace"]
    async with heal_context(lab) as ctx:
        params = params_for(ctx, "create-namespaces", 0, cause.cause.evidence)
        steps = await planned(create_namespaces, ctx, params)
        assert [(s.action.verb, s.action.target.split(" ", 1)[0]) for s in steps] == [("create", "POST")]
        assert steps[0].action.target.endswith(f"/api/catalog/v1/{warehouse}/namespaces")
        assert steps[0].action.body == {
            "namespace": [namespace],
            "properties": {"location": f"s3://iceberg-bronze/{namespace}/"},
        }
        with lab.polaris() as client:
            assert client.get(f"v1/{warehouse}/namespaces/{namespace}").status_code == 404  # planning changed nothing

        (change,) = await applied(steps)
        assert change.before is None and isinstance(change.after, dict)
        with lab.polaris() as client:
            got = client.get(f"v1/{warehouse}/namespaces/{namespace}")
        assert got.status_code == 200
        assert got.json()["properties"]["location"] == f"s3://iceberg-bronze/{namespace}/"
        (again,) = await applied(steps)  # someone else's create meanwhile is the state we want: done
        assert isinstance(again.after, str) and again.after.startswith("already present (HTTP 409)")

        assert await planned(create_namespaces, ctx, params) == ()  # idempotent
    codes = {f.code for f in findings_of(await probe_findings(lab, polaris), "polaris")}
    assert "polaris.namespace_missing" not in codes and "polaris.namespace_ok" in codes


@pytest.mark.lab
@pytest.mark.anyio
@pytest.mark.timeout(900)  # the module's lab comes up and down inside its tests' setup and teardown
async def test_the_playbook_then_seeds_the_tables_into_it(lab: LabHandle) -> None:
    evidence = {"warehouse": "demo_catalog", "namespace": "demo"}
    async with heal_context(lab) as ctx:
        for index in (1, 2):
            params = params_for(ctx, "create-namespaces", index, evidence)
            await applied(await planned(seed_tables, ctx, params))
            assert await planned(seed_tables, ctx, params) == ()
    assert {f.code for f in findings_of(await probe_findings(lab, iceberg), "iceberg")} == {"iceberg.table_ok"}
