"""iceberg.seed_tables against the missing-raw-tables lab (catalog and namespaces exist, no seeded table): the
seed-raw-tables playbook's parameters filled from the diagnosed cause, one planned pyiceberg create per missing
table of the declared seed spec and nothing written, a table that already exists never touched (its rows stay),
the run writing the others with exactly the spec's rows, read back with pyiceberg's RestCatalog, the iceberg probe
green, and an empty second plan. Also: seed specs are closed and typed, and generate the same rows every time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.probes.iceberg import iceberg
from floe_agents.remediations._polaris import Polaris, resolve
from floe_agents.remediations._seeds import load_seed
from floe_agents.remediations.iceberg_seed_tables import SeedTablesParams, catalog_properties
from floe_agents.remediations.iceberg_seed_tables import spec as seed_tables
from tests.remediations._polaris_lab import applied, cause_of, heal_context, lab_for, params_for, planned
from tests.support.lab import LabHandle, findings_of, probe_findings


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    yield from lab_for("missing-raw-tables", tmp_path_factory.mktemp("lab-seed-tables"))


def test_seed_specs_generate_the_same_rows_every_time_and_refuse_unknown_keys(tmp_path: Path) -> None:
    raw = load_seed("raw-tables")
    assert raw.namespace == "demo" and set(raw.tables) == {
        "raw_customers",
        "raw_products",
        "raw_orders",
        "raw_order_items",
    }
    first = raw.tables["raw_orders"].generate("raw_orders", raw.seed)
    assert first.equals(raw.tables["raw_orders"].generate("raw_orders", raw.seed))
    assert first.schema == pa.schema([("order_id", pa.int64()), ("customer_id", pa.int64()), ("status", pa.string())])
    assert first.to_pylist() == [
        {"order_id": 100, "customer_id": 1, "status": "paid"},
        {"order_id": 101, "customer_id": 2, "status": "open"},
    ]
    with pytest.raises(RemediationError, match="no seed spec"):
        load_seed("no-such-seed")
    typo = tmp_path / "typo.yaml"
    typo.write_text("namespace: demo\ntables: {t: {rows: 1, columns: [{name: a, type: int64}], colums: []}}\n")
    with pytest.raises(RemediationError, match="colums"):
        load_seed(str(typo))
    bad_type = tmp_path / "bad.yaml"
    bad_type.write_text("namespace: demo\ntables: {t: {rows: 1, columns: [{name: a, type: int65}]}}\n")
    with pytest.raises(RemediationError, match="int65"):
        load_seed(str(bad_type))


def _catalog(ctx: HealContext, params: SeedTablesParams) -> RestCatalog:
    """pyiceberg's REST client with the properties the remediation writes with (the platform's own)."""
    cat = resolve(params)
    return RestCatalog("test", **catalog_properties(ctx, Polaris.of(ctx, cat), cat))


@pytest.mark.lab
@pytest.mark.anyio
@pytest.mark.timeout(900)  # the module's lab comes up and down inside its tests' setup and teardown
async def test_seeds_only_the_missing_tables_and_never_overwrites(lab: LabHandle) -> None:
    cause = await cause_of(lab, "missing-raw-tables", iceberg)
    spec = load_seed("raw-tables")
    async with heal_context(lab) as ctx:
        params = params_for(ctx, "seed-raw-tables", 0, cause.cause.evidence)
        catalog = _catalog(ctx, seed_tables.parse(params))
        assert catalog.list_tables("demo") == []
        mine = pa.table({"customer_id": pa.array([7], pa.int64()), "name": ["someone's own"]})
        catalog.create_table("demo.raw_customers", schema=mine.schema).append(mine)  # real data: never touched

        steps = await planned(seed_tables, ctx, params)
        assert [s.action.target.split(" (", 1)[0] for s in steps] == [
            f"table {params['warehouse']}.demo.{t}" for t in ("raw_products", "raw_orders", "raw_order_items")
        ]
        body = steps[0].action.body
        assert isinstance(body, dict)
        assert body["rows"] == 2 and body["columns"] == {"product_id": "int64", "name": "string", "price": "double"}
        shown = body["catalog_properties"]
        assert isinstance(shown, dict) and "credential" not in shown and "s3.secret-access-key" not in shown
        assert str(shown["header.User-Agent"]).startswith("floe-agents/") and shown["scope"]
        assert sorted(t[1] for t in catalog.list_tables("demo")) == ["raw_customers"]  # planning wrote nothing

        changes = await applied(steps)
        assert [c.after for c in changes] == [
            {"rows": spec.tables[t].rows, "snapshot_id": catalog.load_table(f"demo.{t}").current_snapshot().snapshot_id}
            for t in ("raw_products", "raw_orders", "raw_order_items")
        ]
        for name in ("raw_products", "raw_orders", "raw_order_items"):
            read = catalog.load_table(f"demo.{name}").scan().to_arrow()
            assert read.to_pylist() == spec.tables[name].generate(name, spec.seed).to_pylist()
        assert catalog.load_table("demo.raw_customers").scan().to_arrow().to_pylist() == mine.to_pylist()

        assert await planned(seed_tables, ctx, params) == ()  # idempotent
        gold = params_for(ctx, "seed-raw-tables", 1, cause.cause.evidence)
        await applied(await planned(seed_tables, ctx, gold))
        assert await planned(seed_tables, ctx, gold) == ()
    assert {f.code for f in findings_of(await probe_findings(lab, iceberg), "iceberg")} == {"iceberg.table_ok"}
