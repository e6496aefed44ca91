"""Iceberg: do the raw source tables exist, load, and can a client read them with the S3 endpoint it is handed?

The bronze assets and dbt read ``demo.raw_*`` through Polaris; when they are missing every layer above is empty,
and the catalog's 404 says why (no warehouse, no namespace, or just no table: seeding never ran or failed). A
table that loads is still unreadable when the S3 endpoint in the loadTable ``config`` — which PyIceberg uses
over its own settings — does not resolve where the pipeline runs: the seed report's blocker. So we resolve that
host from our vantage and from the ``cluster`` vantage, and GET the table's metadata file through S3 (signed by
botocore's SigV4 signer, with the credentials the catalog vends), reaching the handed-out host through the
targets file when it is a cluster-only name. A 500 ``SdkClientException`` from loadTable means the catalog's
*own* S3 I/O fails.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
import httpx

from floe_agents.config.targets import CLUSTER_VANTAGE
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.probes._aws import signed_get_headers
from floe_agents.probes._catalog import (
    RAW_NAMESPACE,
    REQUEST_TIMEOUT_S,
    Answer,
    CatalogTarget,
    call,
    catalog_targets,
    classify,
    config_prefix,
    error_of,
    login,
    storage_profiles,
    to_our_vantage,
)
from floe_agents.probes._credentials import CATALOG_LOGIN, S3_KEYS
from floe_agents.registry import probe
from floe_agents.resolve import CannotResolveHereError, ResolveError

CODES = {
    "iceberg.table_ok": "ok: the table loads and its metadata file reads through the handed-out S3 endpoint",
    "iceberg.warehouse_missing": "fail: the catalog has no such warehouse, so no table can exist",
    "iceberg.namespace_missing": "fail: 404 NoSuchNamespace for the raw tables' namespace",
    "iceberg.table_missing": "fail: 404 NoSuchTable: the seed job never ran or failed",
    "iceberg.catalog_storage_failed": "fail: loadTable failed in the catalog's own S3/STS I/O (500 SdkClientException)",
    "iceberg.handed_out_endpoint_unresolvable": "fail: the loadTable s3.endpoint host does not resolve in-cluster",
    "iceberg.metadata_unreadable": "fail: GET of the metadata file through S3 failed (404, 403, no answer, garbage)",
    "iceberg.metadata_unverified": "unknown: the metadata file could not be tried from here (say why)",
    "iceberg.catalog_unavailable": "unknown: no usable catalog answer (login/config failed; polaris probe says why)",
}

RAW_TABLES = ("raw_customers", "raw_products", "raw_orders", "raw_order_items")
_STORAGE_TYPES = ("SdkClientException", "S3Exception", "StsException")
_UNKNOWN_HOST = re.compile(r"UnknownHostException: ([^\s:]+)")


async def _resolve_everywhere(ctx: ProbeContext, host: str) -> tuple[dict[str, list[str]], dict[str, str], list[str]]:
    resolves: dict[str, list[str]] = {}
    fails: dict[str, str] = {}
    unobservable: list[str] = []
    for vantage in dict.fromkeys([ctx.vantage, CLUSTER_VANTAGE]):
        resolver = ctx.resolver(vantage)
        if resolver is None:
            continue
        try:
            resolves[vantage] = await resolver.resolve(host)
        except CannotResolveHereError:
            unobservable.append(vantage)
        except ResolveError as exc:
            fails[vantage] = str(exc)
    return resolves, fails, unobservable


async def _read_metadata(
    ctx: ProbeContext, cat: CatalogTarget, config: dict[str, str], location: str, evidence: dict[str, Any]
) -> Finding:
    """Resolve the handed-out S3 endpoint from each vantage, then GET the metadata file through it."""
    subject = str(evidence["table"])
    endpoint = config.get("s3.endpoint") or next((p.endpoint for p in storage_profiles(ctx, cat) if p.endpoint), None)
    evidence.update(
        metadata_location=location,
        s3_endpoint=endpoint,
        endpoint_source="catalog" if config.get("s3.endpoint") else "platform",
        path_style_access=config.get("s3.path-style-access"),
    )
    if not endpoint:
        return ctx.finding(
            Status.UNKNOWN,
            "iceberg.metadata_unverified",
            f"{subject}: no S3 endpoint handed out or configured (AWS itself): not tried",
            subject=subject,
            evidence=evidence,
        )
    url = httpx.URL(endpoint if "://" in endpoint else f"https://{endpoint}")
    resolves, fails, unobservable = await _resolve_everywhere(ctx, url.host)
    evidence.update(
        storage_host=url.host, resolves_from=resolves, unresolvable_from=fails, not_observable_from=unobservable
    )
    if CLUSTER_VANTAGE in fails:
        return ctx.finding(
            Status.FAIL,
            "iceberg.handed_out_endpoint_unresolvable",
            f"{subject}: the catalog hands out S3 endpoint {endpoint}, whose host {url.host} does not "
            "resolve in the cluster, where the pipeline reads it",
            subject=subject,
            evidence=evidence,
        )
    via = url if ctx.vantage in resolves else to_our_vantage(ctx, str(url))
    if via is None:
        return ctx.finding(
            Status.UNKNOWN,
            "iceberg.metadata_unverified",
            f"{subject}: {url.host} is not reachable from vantage {ctx.vantage} and no targets URL maps to it",
            subject=subject,
            evidence=evidence,
        )
    parts = urlsplit(location)
    target = via.copy_with(path=f"{via.path.rstrip('/')}/{parts.netloc}/{quote(parts.path.lstrip('/'), safe='/-_.~')}")
    evidence["read_via"] = str(target)
    key_id = config.get("s3.access-key-id") or ctx.credential("s3_access_key_id")
    secret = config.get("s3.secret-access-key") or ctx.credential("s3_secret_access_key")
    region = config.get("client.region") or config.get("s3.region") or ctx.credential("s3_region") or ""
    headers = (
        signed_get_headers(target, region, key_id, secret, config.get("s3.session-token")) if key_id and secret else {}
    )
    evidence.update(signed=bool(headers), credentials="vended" if config.get("s3.access-key-id") else "static")
    ans = await call(ctx, "GET", target, headers=headers)
    meta = ans.json if isinstance(ans.json, dict) else {}
    if ans.status == 200 and "format-version" in meta:
        evidence.update(format_version=meta.get("format-version"), snapshots=len(meta.get("snapshots") or []))
        return ctx.finding(
            Status.OK,
            "iceberg.table_ok",
            f"{subject} loads and its metadata reads through {endpoint}",
            subject=subject,
            evidence=evidence,
        )
    s3_error = re.search(r"<Code>([^<]+)</Code>", ans.text or "")
    evidence.update(
        status_code=ans.status or None,
        reason=ans.trouble or (s3_error.group(1) if s3_error else None),
        error=ans.error or ans.text[:300] or None,
    )
    if ans.status in (401, 403) and not headers:
        return ctx.finding(
            Status.UNKNOWN,
            "iceberg.metadata_unverified",
            f"{subject}: S3 refused an unsigned read (no S3 credentials configured)",
            subject=subject,
            evidence=evidence,
        )
    why = ans.trouble or (
        f"HTTP {ans.status} {evidence['reason'] or ''}".strip() if ans.status != 200 else "not Iceberg JSON"
    )
    return ctx.finding(
        Status.FAIL,
        "iceberg.metadata_unreadable",
        f"{subject}: metadata file {location} unreadable through {target.host}:{target.port} ({why})",
        subject=subject,
        evidence=evidence,
    )


def _load_failure(ctx: ProbeContext, ans: Answer, subject: str, evidence: dict[str, Any]) -> Finding:
    err = error_of(ans)
    evidence = {**evidence, "status_code": ans.status or None, **err}
    kind, message = str(err.get("error_type") or ""), str(err.get("message") or "")
    if ans.status == 404 and "NoSuchNamespace" in kind:
        return ctx.finding(
            Status.FAIL,
            "iceberg.namespace_missing",
            f"{subject}: namespace does not exist ({message})",
            subject=subject,
            evidence=evidence,
        )
    if ans.status == 404 and "NoSuchTable" in kind:
        return ctx.finding(
            Status.FAIL,
            "iceberg.table_missing",
            f"{subject} does not exist (seed never ran or failed)",
            subject=subject,
            evidence=evidence,
        )
    if ans.status == 404 and "Unable to find warehouse" in message:
        return ctx.finding(
            Status.FAIL, "iceberg.warehouse_missing", f"{subject}: {message}", subject=subject, evidence=evidence
        )
    if kind in _STORAGE_TYPES or "subscoped credentials" in message or "Location does not exist" in message:
        host = _UNKNOWN_HOST.search(" ".join(str(s) for s in err.get("stack") or []) + message)
        evidence.update(io_by="catalog", storage_host=host.group(1) if host else None)
        return ctx.finding(
            Status.FAIL,
            "iceberg.catalog_storage_failed",
            f"{subject}: the catalog's own storage I/O failed: {kind} {message[:160]}",
            subject=subject,
            evidence=evidence,
        )
    code, summary, extra = classify(ans, f"loadTable {subject}")
    return ctx.finding(
        Status.UNKNOWN,
        "iceberg.catalog_unavailable",
        summary,
        subject=subject,
        evidence={**evidence, **extra, "cause": code},
    )


async def _table(ctx: ProbeContext, cat: CatalogTarget, token: str, prefix: str, table: str) -> Finding:
    subject = f"{RAW_NAMESPACE}.{table}"
    base: dict[str, Any] = {"table": subject, "warehouse": cat.warehouse, "catalog_url": str(cat.url)}
    headers = {"X-Iceberg-Access-Delegation": cat.access_delegation} if cat.access_delegation != "none" else {}
    ans = await call(
        ctx, "GET", cat.rest(prefix, "namespaces", RAW_NAMESPACE, "tables", table), token=token, headers=headers
    )
    body = ans.json if isinstance(ans.json, dict) else {}
    location, config = body.get("metadata-location"), body.get("config")
    if ans.status != 200 or not isinstance(location, str):
        return _load_failure(ctx, ans, subject, base)
    return await _read_metadata(ctx, cat, {str(k): str(v) for k, v in (config or {}).items()}, location, base)


async def _ask(
    ctx: ProbeContext, cat: CatalogTarget, token: str, prefix: str, answers: dict[str, Answer]
) -> list[Finding]:
    """Config and namespace answers into ``answers``; the raw tables' findings under ``prefix`` returned."""
    results: list[Finding] = []

    async def ask(key: str, url: httpx.URL) -> None:
        answers[key] = await call(ctx, "GET", url, token=token)

    async def one(table: str) -> None:
        results.append(await _table(ctx, cat, token, prefix, table))

    async with anyio.create_task_group() as tg:
        if "config" not in answers:
            tg.start_soon(ask, "config", cat.config_url())
        tg.start_soon(ask, "namespace", cat.rest(prefix, "namespaces", RAW_NAMESPACE))
        for table in RAW_TABLES:
            tg.start_soon(one, table)
    return results


@probe(
    "iceberg",
    components=["iceberg"],
    timeout=REQUEST_TIMEOUT_S * 5 + 4,  # login, config, namespace, loadTable, S3 GET
    description="Raw tables demo.raw_* load from Polaris and their metadata reads through the handed-out S3 endpoint",
    codes=CODES,
    credentials=(*CATALOG_LOGIN, *S3_KEYS),
)
async def iceberg(ctx: ProbeContext) -> list[Finding]:
    cats = [c for c in catalog_targets(ctx) if c.default][:1]
    if not cats:
        return [
            ctx.finding(
                Status.UNKNOWN,
                "iceberg.catalog_unavailable",
                "platform.yaml names no Polaris catalog",
                subject="catalog",
            )
        ]
    cat = cats[0]
    token = await login(ctx, cat)
    if not isinstance(token, str):
        code, summary, evidence = token
        return [
            ctx.finding(
                Status.UNKNOWN,
                "iceberg.catalog_unavailable",
                f"raw tables not checked: {summary}",
                subject=cat.warehouse,
                evidence={**evidence, "cause": code},
            )
        ]
    tables = {f"{RAW_NAMESPACE}.{t}": {"table": f"{RAW_NAMESPACE}.{t}", "warehouse": cat.warehouse} for t in RAW_TABLES}
    # The config (for the URL prefix), the namespace and the tables are asked at once, the tables under Polaris'
    # prefix (the warehouse name): one round trip, not three. Should the config hand out another prefix, the
    # tables are asked again under it. Polaris answers NoSuchTable for a table in a missing namespace, so a
    # missing namespace then speaks for every table.
    answers: dict[str, Answer] = {}
    results = await _ask(ctx, cat, token, cat.warehouse, answers)
    prefix = config_prefix(answers["config"], cat.warehouse)
    if prefix is None:
        return [_load_failure(ctx, answers["config"], t, base) for t, base in tables.items()]
    if prefix != cat.warehouse:
        results = await _ask(ctx, cat, token, prefix, answers)
    if answers["namespace"].status == 404:
        return [_load_failure(ctx, answers["namespace"], t, base) for t, base in tables.items()]
    return sorted(results, key=lambda f: f.subject)
