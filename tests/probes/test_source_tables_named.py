"""The raw source tables are the deployment's, not upstream's: a targets file naming another namespace and other
tables is checked on those (the catalog probe expects that namespace, the iceberg probe loads those tables), and
upstream's ``demo.raw_*`` is never asked for."""

from __future__ import annotations

import dataclasses

import anyio
import httpx

from floe_agents.config.targets import SourceTables
from floe_agents.probes.iceberg import iceberg as iceberg_probe
from floe_agents.probes.polaris import polaris as polaris_probe
from floe_lab.polaris import RunningPolaris
from tests.probes.test_iceberg import SCHEMA, codes, standin_ctx
from tests.support.polaris import FLOE_STORAGE, PolarisS3, polaris_create_catalog, polaris_rest_catalog
from tests.support.probes import run_probe

OURS = SourceTables(namespace="landing", tables=("orders_raw", "clients_raw"))


async def test_the_targets_source_tables_are_the_ones_checked(
    polaris: RunningPolaris, polaris_s3: PolarisS3, http: httpx.AsyncClient
) -> None:
    assert (await polaris_create_catalog(polaris, polaris_s3, **FLOE_STORAGE)).status_code == 201

    def create() -> None:
        catalog = polaris_rest_catalog(polaris, **{"header.X-Iceberg-Access-Delegation": ""})
        catalog.create_namespace("landing")
        catalog.create_table("landing.orders_raw", schema=SCHEMA)  # clients_raw is left missing

    await anyio.to_thread.run_sync(create)
    ctx = standin_ctx(http, polaris, polaris_s3)
    ours = dataclasses.replace(ctx, targets=ctx.targets.model_copy(update={"source_tables": OURS}))
    found = await run_probe(iceberg_probe, ours)
    assert codes(found) == {"landing.orders_raw": "iceberg.table_ok", "landing.clients_raw": "iceberg.table_missing"}
    namespaces = {f.subject: str(f.code) for f in await run_probe(polaris_probe, dataclasses.replace(ours,
                  component="polaris")) if f.code.startswith("polaris.namespace")}  # fmt: skip
    assert namespaces["landing"] == "polaris.namespace_ok" and "demo" not in namespaces
