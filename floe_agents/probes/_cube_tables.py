"""Cube's source tables, looked up in the Iceberg REST catalog without reading them (the cube probe's second half).

Cube compiles its data model without touching the data, so a cube over a missing table looks healthy until
someone queries it. Each cube's source table (``sqlTable``) is looked up with a HEAD on the catalog, with the same
login, answers and URL translation as the other catalog-facing probes (:mod:`probes._catalog`). Gold tables are
built by the pipeline (dbt), so a missing one is a warning, not a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from urllib.parse import quote

import httpx

from floe_agents.config.platform import PlatformConfig
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.gather import gather
from floe_agents.probes._catalog import (
    REQUEST_TIMEOUT_S,
    CatalogTarget,
    catalog_problem,
    catalog_targets,
    config_prefix,
    error_of,
    login,
    ns_path,
)
from floe_agents.probes._http import Answer, call_json

__all__ = ["OpenCatalog", "open_catalogs", "source_findings", "split_table"]


def split_table(table: str, platform: PlatformConfig) -> tuple[str, list[str]] | None:
    """``[catalog.]namespace.table`` -> (catalog key in platform.yaml, namespace parts + table)."""
    parts = table.split(".")
    warehouses = {c.warehouse for c in platform.catalogs.values()}
    if len(parts) >= 3 and (parts[0] in platform.catalogs or parts[0] in warehouses):
        parts = parts[1:]
    if len(parts) < 2:
        return None
    ref = next((lay.catalog_ref for lay in platform.layers.values() if lay.namespace == parts[0]), None)
    name = next((n for n in (ref, "default", *platform.catalogs) if n and n in platform.catalogs), None)
    return (name, parts) if name else None


@dataclass(frozen=True)
class OpenCatalog:
    """One platform catalog, logged in (or why not), with the ``prefix`` its ``/v1/config`` hands out."""

    target: CatalogTarget
    token: str = ""
    prefix: str = ""
    error: str = ""  # set when the catalog could not be opened
    warehouse_missing: bool = False


Lookup = dict[str, bool | str | None]  # what a table lookup found, as evidence: exists (None: unknown) and why


async def _open(ctx: ProbeContext, cat: CatalogTarget) -> OpenCatalog:
    """OAuth token, then ``/v1/config?warehouse=`` for the prefix, as pyiceberg's RestCatalog does."""
    token = await login(ctx, cat)
    if not isinstance(token, str):
        return OpenCatalog(cat, error=f"catalog login refused ({token.code}): {token.summary}")
    config = await call_json(ctx, "GET", cat.config_url(), timeout_s=REQUEST_TIMEOUT_S, bounded=True, token=token)
    if config.status == 404:  # "Unable to find warehouse ...": nothing can be in it
        return OpenCatalog(cat, token, warehouse_missing=True, error=str(error_of(config).get("message") or ""))
    prefix = config_prefix(config, cat.warehouse)
    if prefix is None:
        return OpenCatalog(cat, token, error=catalog_problem(config, "catalog config").summary)
    return OpenCatalog(cat, token, prefix)


async def _head(ctx: ProbeContext, cat: OpenCatalog, url: httpx.URL) -> Answer:
    return await call_json(ctx, "HEAD", url, timeout_s=REQUEST_TIMEOUT_S, bounded=True, token=cat.token)


async def _exists(ctx: ProbeContext, cat: OpenCatalog, parts: list[str]) -> Lookup:
    if cat.warehouse_missing:
        return {"exists": False, "warehouse_missing": True, "error": cat.error}
    if cat.error:
        return {"exists": None, "error": cat.error}
    ns = (quote(cat.prefix, safe=""), "namespaces", ns_path(".".join(parts[:-1])))
    table_url, ns_url = cat.target.rest(*ns, "tables", quote(parts[-1], safe="")), cat.target.rest(*ns)
    table, namespace = await gather(partial(_head, ctx, cat, url) for url in (table_url, ns_url))
    if table.success:
        return {"exists": True}
    if table.status == 404:
        return {"exists": False, "namespace_exists": namespace.success}
    return {"exists": None, "error": catalog_problem(table, "HEAD table").summary}


def _catalog_access(ctx: ProbeContext) -> tuple[list[CatalogTarget], str]:
    """(the platform's catalogs from our vantage, why the source tables cannot be checked or "")."""
    if ctx.platform is None or not ctx.platform.catalogs:
        return [], "no platform.yaml catalogs (warehouse unknown)"
    targets = catalog_targets(ctx)
    creds = ctx.credential("polaris_client_id"), ctx.credential("polaris_client_secret")
    why = (
        "platform.yaml names no Polaris/REST catalog (glue, nessie, hive are not looked up)" if not targets
        else "no polaris api endpoint for this vantage" if all(t.url is None for t in targets)
        else "no polaris_client_id/polaris_client_secret credentials" if not all(creds) else ""
    )  # fmt: skip
    return targets, why


async def open_catalogs(ctx: ProbeContext) -> dict[str, OpenCatalog]:
    """Log in to every platform catalog (started before meta answers: the logins do not depend on it)."""
    targets, why = _catalog_access(ctx)
    if why:
        return {}
    opened = await gather(partial(_open, ctx, target) for target in targets)
    return {c.target.name: c for c in opened}


async def source_findings(ctx: ProbeContext, tables: list[str], catalogs: dict[str, OpenCatalog]) -> list[Finding]:
    """Look each cube source table up in the Iceberg REST catalog (HEAD: existence only, nothing is read)."""
    _, why = _catalog_access(ctx)
    platform = ctx.platform
    if why or platform is None:
        summary = f"cannot check cube source tables: {why}"
        return [
            ctx.finding(Status.UNKNOWN, "cube.source_unverifiable", summary, evidence={"tables": tables, "reason": why})
        ]
    split = {t: split_table(t, platform) for t in tables}
    results = [
        ctx.finding(
            Status.UNKNOWN,
            "cube.source_unverifiable",
            f"{table}: no namespace or catalog to look it up in",
            subject=table,
            evidence={"table": table, "reason": "unqualified table name"},
        )
        for table, where in split.items()
        if where is None
    ]
    checked = await gather(partial(_check, ctx, table, *where, catalogs) for table, where in split.items() if where)
    results += [f for f in checked if f is not None]
    if not results:
        summary = f"all {len(tables)} cube source tables exist"
        results.append(ctx.finding(Status.OK, "cube.source_tables_present", summary, evidence={"tables": tables}))
    return results


async def _check(
    ctx: ProbeContext, table: str, name: str, parts: list[str], catalogs: dict[str, OpenCatalog]
) -> Finding | None:
    """A finding when ``table`` is missing from its catalog or cannot be looked up; None when it exists."""
    cat = catalogs.get(name)
    found: Lookup = await _exists(ctx, cat, parts) if cat else {"exists": None, "error": f"catalog {name} is not REST"}
    warehouse = cat.target.warehouse if cat else name
    evidence: dict[str, object] = {
        "table": table,
        "catalog": name,
        "warehouse": warehouse,
        "catalog_url": cat.target.subject if cat else None,
    }
    evidence.update(found)
    if found["exists"] is False:
        summary = f"cube source table {table} is not in catalog {warehouse}: queries on it will fail"
        return ctx.finding(Status.WARN, "cube.source_table_missing", summary, subject=table, evidence=evidence)
    if found["exists"] is None:
        summary = f"could not look up cube source table {table}: {found['error']}"
        return ctx.finding(Status.UNKNOWN, "cube.source_unverifiable", summary, subject=table, evidence=evidence)
    return None
