"""Polaris: is the catalog healthy, can Floe log in, and is its warehouse set up the way platform.yaml expects?

A catalog that answers its health check can still break every pipeline: a wrong client secret or scope (401/400
from the token endpoint), no warehouse (``Unable to find warehouse``), a storage config whose endpoint,
addressing or STS settings make the catalog's own S3 I/O fail (the seed report's blocker), buckets outside
``allowedLocations``, or missing namespaces — including upstream's slip of writing ``demo_catalog.bronze`` where
the namespace is ``bronze``. Each has its own code because each has its own fix. The catalog URI comes from
platform.yaml (the in-cluster one) translated to our vantage through the targets file; the storage findings name
the catalog's S3 host (``storage_host``) so reachability probes can follow it up. The catalog client (login, calls, URL
translation) lives in ``_catalog`` and is shared with the ``iceberg`` probe.
"""

from __future__ import annotations

from functools import partial
from urllib.parse import quote

import httpx

from floe_agents.context import Endpoint, ProbeContext
from floe_agents.findings import Finding, Severity, Status
from floe_agents.gather import gather
from floe_agents.probes import _fixes
from floe_agents.probes._catalog import (
    REQUEST_TIMEOUT_S,
    CatalogTarget,
    catalog_problem,
    catalog_targets,
    config_prefix,
    error_of,
    expected_namespaces,
    host_of,
    location_overlaps,
    login,
    normal_url,
    ns_path,
    storage_profiles,
)
from floe_agents.probes._credentials import CATALOG_LOGIN
from floe_agents.probes._http import Answer, call_json, read, under
from floe_agents.probes._models.iceberg import NamespaceAnswer
from floe_agents.probes._models.polaris import Health, ManagementCatalog, StorageConfigInfo
from floe_agents.registry import probe

CODES = {
    "polaris.healthy": "ok: /q/health/ready and /q/health/live say UP",
    "polaris.unhealthy": "fail: a health endpoint says DOWN or answers non-200 (the failing checks in evidence)",
    "polaris.unreachable": "fail: no usable HTTP answer (refused, timeout, TLS mismatch, dropped connection)",
    "polaris.bad_response": "fail: a truncated or non-JSON answer where JSON is due",
    "polaris.api_error": "fail: an unexpected HTTP status from the catalog or management API",
    "polaris.credentials_missing": "unknown: no Polaris client id/secret to log in with",
    "polaris.auth_ok": "ok: the client-credentials token was issued",
    "polaris.auth_failed": "fail: token refused (401 unauthorized_client / invalid_client): wrong id or secret",
    "polaris.scope_invalid": "fail: token refused with 400 invalid_scope: platform credentials.scope is malformed",
    "polaris.not_authorized": "fail: 401/403 with a token: the activated principal roles lack the privilege",
    "polaris.warehouse_ok": "ok: GET /v1/config?warehouse=W answers",
    "polaris.warehouse_missing": 'fail (critical): "Unable to find warehouse W"',
    "polaris.storage_config_unreadable": "unknown: the management API refused or failed; storage not compared",
    "polaris.storage_ok": "ok: storageConfigInfo agrees with platform.yaml storage",
    "polaris.storage_endpoint_mismatch": "fail: the catalog's S3 endpoint differs from platform.yaml's",
    "polaris.virtual_host_addressing": "fail: custom endpoint with pathStyleAccess off (<bucket>.<host> lookups)",
    "polaris.role_without_sts": "warn: roleArn set and stsUnavailable not true on an S3-compatible endpoint",
    "polaris.location_not_allowed": "fail: a platform bucket lies outside the catalog's allowedLocations",
    "polaris.namespace_ok": "ok: an expected namespace exists",
    "polaris.namespace_missing": "fail: 404 NoSuchNamespace for a layer namespace or the raw tables' namespace",
    "polaris.namespace_prefix_mistake": 'fail: namespace configured as "<warehouse>.<ns>" instead of "<ns>"',
}

HEALTH_PATHS = ("/q/health/ready", "/q/health/live")


async def _get(ctx: ProbeContext, url: httpx.URL, token: str | None = None) -> Answer:
    return await call_json(ctx, "GET", url, timeout_s=REQUEST_TIMEOUT_S, bounded=True, token=token)


async def _health(ctx: ProbeContext, ep: Endpoint) -> list[Finding]:
    """One finding for the management endpoint: both health paths UP, or what each says instead."""
    answers = await gather(partial(_get, ctx, under(ep.url, path)) for path in HEALTH_PATHS)
    subject = str(under(ep.url, "/q/health"))
    evidence: dict[str, object] = {"endpoint": ep.name, "url": subject}
    bad: list[str] = []
    for path, ans in zip(HEALTH_PATHS, answers, strict=True):
        body = read(ans, Health, errors=True)
        if ans.transport_error or (body is None and ans.status in (200, 503)):
            return [catalog_problem(ans, f"Polaris health {path}", evidence).finding(ctx, subject=subject)]
        state = body.status if body else None
        evidence[path.rsplit("/", 1)[-1]] = {
            "status_code": ans.status,
            "status": state,
            "checks": body.checks if body else [],
        }
        if ans.status != 200 or str(state).upper() != "UP":
            bad.append(f"{path} -> HTTP {ans.status} {state or ans.text[:80]!r}")
    if bad:
        summary = f"Polaris reports itself unhealthy: {'; '.join(bad)}"
        return [ctx.finding(Status.FAIL, "polaris.unhealthy", summary, subject=subject, evidence=evidence)]
    return [ctx.finding(Status.OK, "polaris.healthy", "Polaris is ready and live", subject=subject, evidence=evidence)]


def _storage_findings(ctx: ProbeContext, cat: CatalogTarget, storage: StorageConfigInfo) -> list[Finding]:
    """Compare the catalog's ``storageConfigInfo`` with platform.yaml ``storage.*``."""
    endpoint, internal = storage.endpoint or None, storage.endpoint_internal or None
    allowed = storage.allowed_locations or []
    profiles = storage_profiles(ctx, cat)
    platform_endpoints = sorted({p.endpoint for p in profiles if p.endpoint})
    buckets = sorted({p.bucket for p in profiles})
    evidence: dict[str, object] = {
        "warehouse": cat.warehouse,
        "storage_type": storage.storage_type,
        "storage_endpoint": endpoint,
        "storage_host": host_of(endpoint),
        "endpoint_internal": internal,
        "path_style_access": storage.path_style_access,
        "role_arn": storage.role_arn,
        "sts_unavailable": storage.sts_unavailable,
        "sts_endpoint": storage.sts_endpoint,
        "region": storage.region,
        "allowed_locations": allowed,
        "platform_storage_endpoints": platform_endpoints,
        "platform_buckets": buckets,
    }
    subject = f"{cat.warehouse}.storageConfigInfo"
    out: list[Finding] = []

    def add(status: Status, code: str, summary: str, part: str = "", **extra: object) -> None:
        where = f"{subject}.{part}" if part else subject  # one subject per condition: findings are keyed by it
        out.append(ctx.finding(status, code, summary, subject=where, evidence={**evidence, **extra}))

    wanted: set[str | None] = {normal_url(e) for e in platform_endpoints} or {None}
    if profiles and (normal_url(endpoint) if endpoint else None) not in wanted:
        add(
            Status.FAIL,
            "polaris.storage_endpoint_mismatch",
            f"catalog {cat.warehouse} hands out S3 endpoint {endpoint or '(AWS default)'} but platform.yaml storage "
            f"uses {', '.join(platform_endpoints) or '(AWS default)'}",
            part="endpoint",
        )
    own = internal or endpoint
    if own and storage.path_style_access is not True:
        vhosts = [f"{b}.{host_of(own)}" for b in buckets]
        add(
            Status.FAIL,
            "polaris.virtual_host_addressing",
            f"catalog {cat.warehouse} uses S3 endpoint {own} without pathStyleAccess: the SDK asks for "
            f"<bucket>.{host_of(own)}, which an S3-compatible store's DNS does not know",
            virtual_hosts=vhosts,
            part="pathStyleAccess",
        )
    if storage.role_arn and storage.sts_unavailable is not True and own:
        add(
            Status.WARN,
            "polaris.role_without_sts",
            f"catalog {cat.warehouse} sets roleArn without stsUnavailable: every table access first calls STS "
            f"AssumeRole at {storage.sts_endpoint or own}",
            part="roleArn",
        )
    outside = [b for b in buckets if not any(location_overlaps(f"s3://{b}/", a) for a in allowed)]
    if outside:
        add(
            Status.FAIL,
            "polaris.location_not_allowed",
            f"platform bucket(s) {', '.join(outside)} outside catalog {cat.warehouse}'s allowedLocations",
            buckets_not_allowed=outside,
            part="allowedLocations",
        )
    if not out:
        add(Status.OK, "polaris.storage_ok", f"catalog {cat.warehouse} storage config agrees with platform.yaml")
    return out


async def _prefix_slip(
    ctx: ProbeContext, cat: CatalogTarget, token: str, prefix: str, ns: str
) -> tuple[str, str, bool] | None:
    """Whether the missing dotted namespace ``ns`` is a shorter one written with a prefix: (prefix, the namespace
    meant, whether it exists), or None when it is simply missing.

    Why any prefix: the slip is writing a qualifier in front of the layer's namespace (the warehouse's name, the
    release's, the catalog's), and Iceberg reads each dot as another level. It is a slip when a shorter tail
    exists (the longest one wins), or when the first level is no namespace at all (a nested namespace under a
    missing parent is not what a platform means); then the meant one is what follows the first level."""
    parts = ns.split(".")
    if len(parts) < 2 or not all(parts):
        return None
    for i in range(1, len(parts)):
        tail = ".".join(parts[i:])
        if (await _get(ctx, cat.rest(prefix, "namespaces", ns_path(tail)), token)).status == 200:
            return ".".join(parts[:i]), tail, True
    parent = await _get(ctx, cat.rest(prefix, "namespaces", ns_path(parts[0])), token)
    if parts[0] == cat.warehouse or parent.status == 404:
        return parts[0], ".".join(parts[1:]), False
    return None


async def _namespace(
    ctx: ProbeContext, cat: CatalogTarget, token: str, prefix: str, *, ns: str, origin: str
) -> Finding:
    evidence: dict[str, object] = {"namespace": ns, "warehouse": cat.warehouse, "expected_by": origin}
    ans = await _get(ctx, cat.rest(prefix, "namespaces", ns_path(ns)), token)
    found = read(ans, NamespaceAnswer) if ans.status == 200 else None
    if found is not None:
        evidence["location"] = (found.properties or {}).get("location")
        return ctx.finding(Status.OK, "polaris.namespace_ok", f"namespace {ns} exists", subject=ns, evidence=evidence)
    if ans.status != 404:
        return catalog_problem(ans, f"namespace {ns}", evidence).finding(ctx, subject=ns)
    evidence.update(error_of(ans))
    slip = await _prefix_slip(ctx, cat, token, prefix, ns)
    if slip is not None:
        head, intended, exists = slip
        return ctx.finding(
            Status.FAIL,
            "polaris.namespace_prefix_mistake",
            f"namespace {ns} is configured with the prefix {head}.: the catalog's namespace is {intended}"
            + ("" if exists else " (which does not exist either)"),
            subject=ns,
            evidence={**evidence, "prefix": head, "intended_namespace": intended, "intended_exists": exists},
        )
    summary = f"namespace {ns} does not exist in warehouse {cat.warehouse}"
    return ctx.finding(Status.FAIL, "polaris.namespace_missing", summary, subject=ns, evidence=evidence)


async def _catalog(ctx: ProbeContext, cat: CatalogTarget) -> list[Finding]:
    token = await login(ctx, cat)
    if not isinstance(token, str):
        return [token.finding(ctx, subject=cat.subject)]
    base = cat.evidence()
    out = [
        ctx.finding(
            Status.OK, "polaris.auth_ok", f"Polaris issued a token ({cat.scope})", subject=cat.subject, evidence=base
        )
    ]
    mgmt_url = cat.management(f"catalogs/{quote(cat.warehouse, safe='')}")
    config, mgmt = await gather(partial(_get, ctx, url, token) for url in (cat.config_url(), mgmt_url))
    if config.status == 404:
        summary = f"Polaris has no warehouse {cat.warehouse}"
        evidence = {**base, **error_of(config)}
        sev = Severity.CRITICAL
        return [
            *out,
            ctx.finding(
                Status.FAIL,
                "polaris.warehouse_missing",
                summary,
                severity=sev,
                subject=cat.warehouse,
                evidence=evidence,
            ),
        ]
    prefix = config_prefix(config, cat.warehouse)
    if prefix is None:
        return [
            *out,
            catalog_problem(config, f"catalog config for {cat.warehouse}", base).finding(ctx, subject=cat.warehouse),
        ]
    out.append(
        ctx.finding(
            Status.OK,
            "polaris.warehouse_ok",
            f"warehouse {cat.warehouse} exists",
            subject=cat.warehouse,
            evidence={**base, "prefix": prefix},
        )
    )
    catalog = read(mgmt, ManagementCatalog) if mgmt.status == 200 else None
    if catalog is not None:
        out.extend(_storage_findings(ctx, cat, catalog.storage_config_info))
    else:
        unread = catalog_problem(mgmt, f"management API catalog {cat.warehouse}", base)
        out.append(
            ctx.finding(
                Status.UNKNOWN,
                "polaris.storage_config_unreadable",
                f"storage config not compared: {unread.summary}",
                subject=f"{cat.warehouse}.storageConfigInfo",
                evidence=unread.evidence,
            )
        )
    expected = expected_namespaces(ctx, cat).items()
    results = await gather(partial(_namespace, ctx, cat, token, prefix, ns=ns, origin=why) for ns, why in expected)
    return out + sorted(results, key=lambda f: f.subject)


@probe(
    "polaris",
    components=["polaris"],
    timeout=REQUEST_TIMEOUT_S * 4 + 4,  # health || login, config || management, namespace, its prefix check
    description="Polaris health, OAuth login, warehouse, storage config and namespaces against platform.yaml",
    codes=CODES,
    fixes=_fixes.POLARIS,
    credentials=CATALOG_LOGIN,
    public_evidence=("token_type", "credential_mode"),  # the OAuth token's kind, how the catalog gets keys
)
async def polaris(ctx: ProbeContext) -> list[Finding]:
    management = [ep for ep in ctx.endpoints() if ep.name == "management" and ep.url.scheme in ("http", "https")]
    groups = await gather(
        [*(partial(_health, ctx, ep) for ep in management), *(partial(_catalog, ctx, c) for c in catalog_targets(ctx))]
    )
    return [finding for group in groups for finding in group]
