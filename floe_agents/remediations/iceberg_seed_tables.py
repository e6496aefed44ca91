"""iceberg.seed_tables: write the seed spec's tables that are missing, through pyiceberg's REST catalog client.

Why: the bronze assets and dbt sources read the raw tables; when the seed Job never ran (or failed behind a
broken catalog) they are missing and every layer above is empty (rule ``missing-raw-tables``). This writes them
the way the platform's own assets read them — ``pyiceberg.catalog.rest.RestCatalog`` with the catalog URI,
warehouse, client credential, scope and access-delegation header of platform.yaml's catalog profile and the
platform's S3 settings — so a table that seeds is a table the assets can read. It only ever *creates*: a table
that exists is never touched (no overwrite, unlike upstream's seed Job), and the plan lists exactly the missing
tables, read with one ``GET .../namespaces/{ns}/tables`` (no catalog or namespace yet: all of them, after the
spec's namespace, which it creates first when missing: so the step works in whichever playbook runs first).

From outside the cluster the S3 endpoint the catalog hands out (an in-cluster Service name, which pyiceberg lets
win over its own ``s3.endpoint``) does not resolve; ``_iceberg_io.VantageFileIO`` maps it to the URL the targets file
gives for this vantage, and changes nothing in the cluster vantage.
"""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from pydantic import Field

from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.remediation import Action, Change, Step, remediation
from floe_agents.remediations._polaris import (
    USER_AGENT,
    CatalogParams,
    Polaris,
    Resolved,
    TablesAnswer,
    expect,
    http_step,
    ns_path,
    read,
    resolve,
    to_our_vantage,
)
from floe_agents.remediations._seeds import SeedSpec, SeedTable, load_seed

__all__ = ["SeedTablesParams", "catalog_properties", "spec"]

ENDPOINT_MAP = "floe-agents.s3.endpoint-map"  # JSON {handed-out endpoint: our vantage's URL}; _iceberg_io reads it
FILE_IO = "floe_agents.remediations._iceberg_io.VantageFileIO"  # imported by pyiceberg only when applying


class SeedTablesParams(CatalogParams):
    seed: str = Field(min_length=1, description="A seed spec: a name under playbooks/seeds/, or a path.")


def catalog_properties(ctx: HealContext, pol: Polaris, cat: Resolved) -> dict[str, str]:
    """The RestCatalog properties, as the platform's assets build them (secret values included: never shown)."""
    props = {
        "uri": str(pol.base),
        "warehouse": cat.warehouse,
        "credential": f"{pol.client_id}:{pol.client_secret}",
        "scope": pol.scope,
        "oauth2-server-uri": str(pol.rest("oauth", "tokens")),
        "header.User-Agent": USER_AGENT,
        # Static keys and no vended credentials send an empty header (Floe's own client does); else the mode.
        "header.X-Iceberg-Access-Delegation": "" if cat.access_delegation == "none" else cat.access_delegation,
        "py-io-impl": FILE_IO,
    }
    key, secret = ctx.credential("s3_access_key_id"), ctx.credential("s3_secret_access_key")
    if key and secret:
        props.update({"s3.access-key-id": key, "s3.secret-access-key": secret})
    if cat.region:
        props["s3.region"] = cat.region
    if cat.endpoint:
        ours = to_our_vantage(ctx, cat.endpoint)
        props["s3.endpoint"] = str(ours or cat.endpoint).rstrip("/")
        if ours is not None:
            props[ENDPOINT_MAP] = json.dumps({cat.endpoint.rstrip("/"): str(ours).rstrip("/")})
    return props


async def _existing(pol: Polaris, warehouse: str, namespace: str) -> set[str] | None:
    """The tables in ``namespace``; None when the warehouse or the namespace does not exist (yet)."""
    prefix = await pol.prefix(warehouse)
    if prefix is None:
        return None
    url = pol.rest(prefix, "namespaces", ns_path(namespace), "tables")
    found: set[str] = set()
    token: str | None = None
    while True:
        ans = await pol.call("GET", url.copy_with(params={"pageToken": token}) if token else url)
        if ans.status_code == 404:
            return None
        expect(ans, f"GET tables of {namespace}", 200)
        page = read(ans, TablesAnswer, f"GET tables of {namespace}")
        found |= {i.name for i in page.identifiers}
        token = page.next_page_token
        if not token:
            return found


def _namespace_step(pol: Polaris, cat: Resolved, namespace: str) -> Step:
    """The spec's namespace, created first when missing (409: it exists, done), with its platform location."""
    location = cat.location(namespace)
    body: dict[str, object] = {"namespace": namespace.split(".")}
    if location:
        body["properties"] = {"location": location}
    url = pol.rest(cat.warehouse, "namespaces")
    return http_step(
        pol,
        "POST",
        url,
        body,
        verb="create",
        summary=f"create namespace {namespace} in catalog {cat.warehouse} for the seed tables",
        undo=f"DELETE {url.path}/{ns_path(namespace)} (while it is empty)",
    )


def _write(props: dict[str, str], identifier: tuple[str, ...], table: SeedTable, name: str, seed: int) -> Any:
    """Create and fill one table (blocking: run in a worker thread). None if someone created it meanwhile."""
    from pyiceberg.catalog.rest import RestCatalog  # noqa: PLC0415 - heavy, only when applying
    from pyiceberg.exceptions import TableAlreadyExistsError  # noqa: PLC0415

    catalog = RestCatalog("floe-agents", **props)
    data = table.generate(name, seed)
    try:
        created = catalog.create_table(identifier, schema=data.schema)
    except TableAlreadyExistsError:
        return None
    try:
        created.append(data)
    except Exception:
        catalog.drop_table(identifier)  # ours and empty: leave no half-seeded table that a re-plan would skip
        raise
    snapshot = created.current_snapshot()
    return {"rows": data.num_rows, "snapshot_id": snapshot.snapshot_id if snapshot else None}


def _step(ctx: HealContext, pol: Polaris, cat: Resolved, spec: SeedSpec, name: str) -> Step:
    table = spec.tables[name]
    identifier = (*spec.namespace.split("."), name)
    dotted = ".".join(identifier)
    props = catalog_properties(ctx, pol, cat)
    shown = {k: v for k, v in props.items() if k not in ("credential", "s3.secret-access-key")}
    action = Action(
        kind="iceberg",
        verb="create",
        target=f"table {cat.warehouse}.{dotted} (pyiceberg RestCatalog at {pol.base})",
        summary=f"create {dotted} and append {table.rows} seeded rows (seed {spec.seed})",
        body=ctx.mask({**table.describe(), "seed": spec.seed, "catalog_properties": shown}),
        undo=f"drop table {dotted} (purge) — only while nothing else has written to it",
    )

    async def run() -> Change:
        try:
            done = await anyio.to_thread.run_sync(_write, props, identifier, table, name, spec.seed)
        except Exception as exc:
            raise RemediationError(ctx.mask(f"seeding {dotted} failed: {type(exc).__name__}: {exc}")) from None
        if done is None:
            return Change(action=action, before=None, after="already present: nothing written")
        return Change(action=action, before=None, after=done)

    return Step(action=action, run=run)


@remediation("iceberg.seed_tables", params=SeedTablesParams, risk="low")
async def spec(ctx: HealContext, params: SeedTablesParams) -> list[Step]:
    """Create the seed spec's missing tables with seeded rows, through pyiceberg's REST catalog client."""
    spec = load_seed(params.seed)
    cat = resolve(params)
    pol = Polaris.of(ctx, cat)
    existing = await _existing(pol, cat.warehouse, spec.namespace)
    first = [_namespace_step(pol, cat, spec.namespace)] if existing is None else []
    return first + [_step(ctx, pol, cat, spec, name) for name in spec.tables if name not in (existing or set())]
