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
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from urllib.parse import quote, urlsplit

import httpx

from floe_agents.config.targets import CLUSTER_VANTAGE, SourceTables
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.gather import gather
from floe_agents.probes import _fixes
from floe_agents.probes._aws import signed_get_headers
from floe_agents.probes._catalog import (
    REQUEST_TIMEOUT_S,
    CatalogTarget,
    catalog_problem,
    catalog_targets,
    config_prefix,
    error_of,
    login,
    storage_profiles,
    to_our_vantage,
)
from floe_agents.probes._credentials import CATALOG_LOGIN, S3_KEYS
from floe_agents.probes._http import Answer, call_json, read
from floe_agents.probes._models.iceberg import LoadTable, TableMetadata
from floe_agents.probes._vantages import resolve_everywhere
from floe_agents.registry import probe

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

RAW_TABLES = SourceTables().tables  # upstream's seed: the default of the targets file's source_tables
_STORAGE_TYPES = ("SdkClientException", "S3Exception", "StsException")
_UNKNOWN_HOST = re.compile(r"UnknownHostException: ([^\s:]+)")


async def _resolutions(ctx: ProbeContext, host: str) -> tuple[dict[str, list[str]], dict[str, str], list[str]]:
    """Where ``host`` resolves from our vantage and the cluster's: (addresses, failures, not observable here)."""
    found = [r for r in await resolve_everywhere(ctx, host, [ctx.vantage, CLUSTER_VANTAGE]) if r.has_resolver]
    resolves = {r.vantage: list(r.addresses) for r in found if r.outcome == "ok"}
    fails = {r.vantage: r.reason for r in found if r.outcome == "fail"}
    return resolves, fails, [r.vantage for r in found if r.outcome == "unobservable"]


async def _get(ctx: ProbeContext, url: httpx.URL, token: str | None, headers: dict[str, str] | None = None) -> Answer:
    return await call_json(ctx, "GET", url, timeout_s=REQUEST_TIMEOUT_S, bounded=True, token=token, headers=headers)


async def _read_metadata(
    ctx: ProbeContext, cat: CatalogTarget, config: dict[str, str], location: str, evidence: dict[str, object]
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
    resolves, fails, unobservable = await _resolutions(ctx, url.host)
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
    ans = await _get(ctx, target, None, headers)
    meta = read(ans, TableMetadata) if ans.status == 200 else None
    if meta is not None:
        evidence.update(format_version=meta.format_version, snapshots=len(meta.snapshots or []))
        return ctx.finding(
            Status.OK,
            "iceberg.table_ok",
            f"{subject} loads and its metadata reads through {endpoint}",
            subject=subject,
            evidence=evidence,
        )
    s3_error = re.search(r"<Code>([^<]+)</Code>", ans.text)
    evidence.update(
        status_code=ans.status,
        reason=ans.transport_error or (s3_error.group(1) if s3_error else None),
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
    why = ans.transport_error or (
        f"HTTP {ans.status} {evidence['reason'] or ''}".strip() if ans.status != 200 else "not Iceberg JSON"
    )
    return ctx.finding(
        Status.FAIL,
        "iceberg.metadata_unreadable",
        f"{subject}: metadata file {location} unreadable through {target.host}:{target.port} ({why})",
        subject=subject,
        evidence=evidence,
    )


def _load_failure(ctx: ProbeContext, ans: Answer, subject: str, evidence: Mapping[str, object]) -> Finding:
    err = error_of(ans)
    evidence = {**evidence, "status_code": ans.status, **err}
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
        stack = err.get("stack")
        host = _UNKNOWN_HOST.search((" ".join(map(str, stack)) if isinstance(stack, list) else "") + message)
        evidence.update(io_by="catalog", storage_host=host.group(1) if host else None)
        return ctx.finding(
            Status.FAIL,
            "iceberg.catalog_storage_failed",
            f"{subject}: the catalog's own storage I/O failed: {kind} {message[:160]}",
            subject=subject,
            evidence=evidence,
        )
    failed = catalog_problem(ans, f"loadTable {subject}", evidence)
    return ctx.finding(
        Status.UNKNOWN,
        "iceberg.catalog_unavailable",
        failed.summary,
        subject=subject,
        evidence={**failed.evidence, "cause": failed.code},
    )


async def _table(ctx: ProbeContext, cat: CatalogTarget, token: str, prefix: str, table: str) -> Finding:
    raw = ctx.targets.source_tables.namespace
    subject = f"{raw}.{table}"
    base: dict[str, object] = {"table": subject, "warehouse": cat.warehouse, "catalog_url": str(cat.url)}
    headers = {"X-Iceberg-Access-Delegation": cat.access_delegation} if cat.access_delegation != "none" else {}
    ans = await _get(ctx, cat.rest(prefix, "namespaces", raw, "tables", table), token, headers)
    loaded = read(ans, LoadTable) if ans.status == 200 else None
    if loaded is None:
        return _load_failure(ctx, ans, subject, base)
    return await _read_metadata(ctx, cat, loaded.config, loaded.metadata_location, base)


async def _ask(
    ctx: ProbeContext, cat: CatalogTarget, token: str, prefix: str, config: Answer | None
) -> tuple[Answer, Answer, list[Finding]]:
    """The config (unless already asked), the raw namespace and the raw tables' findings under ``prefix``, at once."""
    urls = ([] if config else [cat.config_url()]) + [
        cat.rest(prefix, "namespaces", ctx.targets.source_tables.namespace)
    ]
    calls: list[Callable[[], Awaitable[Answer | Finding]]] = [
        *(partial(_get, ctx, url, token) for url in urls),
        *(partial(_table, ctx, cat, token, prefix, table) for table in ctx.targets.source_tables.tables),
    ]
    got = await gather(calls)
    answers = [a for a in got if isinstance(a, Answer)]
    return config or answers[0], answers[-1], [f for f in got if isinstance(f, Finding)]


@probe(
    "iceberg",
    components=["iceberg"],
    timeout=REQUEST_TIMEOUT_S * 5 + 4,  # login, config, namespace, loadTable, S3 GET
    description="Raw tables demo.raw_* load from Polaris and their metadata reads through the handed-out S3 endpoint",
    codes=CODES,
    fixes=_fixes.ICEBERG,
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
        return [
            ctx.finding(
                Status.UNKNOWN,
                "iceberg.catalog_unavailable",
                f"raw tables not checked: {token.summary}",
                subject=cat.warehouse,
                evidence={**token.evidence, "cause": token.code},
            )
        ]
    raw = ctx.targets.source_tables
    tables = {f"{raw.namespace}.{t}": {"table": f"{raw.namespace}.{t}", "warehouse": cat.warehouse} for t in raw.tables}
    # The config (for the URL prefix), the namespace and the tables are asked at once, the tables under Polaris'
    # prefix (the warehouse name): one round trip, not three. Should the config hand out another prefix, the
    # tables are asked again under it. Polaris answers NoSuchTable for a table in a missing namespace, so a
    # missing namespace then speaks for every table.
    config, namespace, results = await _ask(ctx, cat, token, cat.warehouse, None)
    prefix = config_prefix(config, cat.warehouse)
    if prefix is None:
        return [_load_failure(ctx, config, t, base) for t, base in tables.items()]
    if prefix != cat.warehouse:
        _, namespace, results = await _ask(ctx, cat, token, prefix, config)
    if namespace.status == 404:
        return [_load_failure(ctx, namespace, t, base) for t, base in tables.items()]
    return sorted(results, key=lambda f: f.subject)
