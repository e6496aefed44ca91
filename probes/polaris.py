"""Polaris: is the catalog healthy, can Floe log in, and is its warehouse set up the way platform.yaml expects?

A catalog that answers its health check can still break every pipeline: a wrong client secret or scope (401/400
from the token endpoint), no warehouse (``Unable to find warehouse``), a storage config whose endpoint,
addressing or STS settings make the catalog's own S3 I/O fail (the seed report's blocker), buckets outside
``allowedLocations``, or missing namespaces — including upstream's slip of writing ``demo_catalog.bronze`` where
the namespace is ``bronze``. Each has its own code because each has its own fix. The catalog URI comes from
platform.yaml (the in-cluster one) translated to our vantage through the targets file; the storage findings name
the catalog's S3 host (``storage_host``) so reachability probes can follow it up. The small catalog client at the
bottom (login, calls, URL translation) is shared with the ``iceberg`` probe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import anyio
import httpx
from pydantic import SecretStr

from floe_agents.config.platform import StorageProfile
from floe_agents.context import Endpoint, ProbeContext
from floe_agents.findings import Code, Finding, Severity, Status
from floe_agents.registry import probe

CODES = (
    "polaris.healthy",  # ok: /q/health/ready and /q/health/live say UP
    "polaris.unhealthy",  # fail: a health endpoint says DOWN or answers non-200 (the failing checks in evidence)
    "polaris.unreachable",  # fail: no usable HTTP answer (refused, timeout, TLS mismatch, dropped connection)
    "polaris.bad_response",  # fail: a truncated or non-JSON answer where JSON is due
    "polaris.api_error",  # fail: an unexpected HTTP status from the catalog or management API
    "polaris.credentials_missing",  # unknown: no Polaris client id/secret to log in with
    "polaris.auth_ok",  # ok: the client-credentials token was issued
    "polaris.auth_failed",  # fail: token refused (401 unauthorized_client / invalid_client): wrong id or secret
    "polaris.scope_invalid",  # fail: token refused with 400 invalid_scope: platform credentials.scope is malformed
    "polaris.not_authorized",  # fail: 401/403 with a token: the activated principal roles lack the privilege
    "polaris.warehouse_ok",  # ok: GET /v1/config?warehouse=W answers
    "polaris.warehouse_missing",  # fail (critical): "Unable to find warehouse W"
    "polaris.storage_config_unreadable",  # unknown: the management API refused or failed; storage not compared
    "polaris.storage_ok",  # ok: storageConfigInfo agrees with platform.yaml storage
    "polaris.storage_endpoint_mismatch",  # fail: the catalog's S3 endpoint differs from platform.yaml's
    "polaris.virtual_host_addressing",  # fail: custom endpoint with pathStyleAccess off (<bucket>.<host> lookups)
    "polaris.role_without_sts",  # warn: roleArn set and stsUnavailable not true on an S3-compatible endpoint
    "polaris.location_not_allowed",  # fail: a platform bucket lies outside the catalog's allowedLocations
    "polaris.namespace_ok",  # ok: an expected namespace exists
    "polaris.namespace_missing",  # fail: 404 NoSuchNamespace for a layer namespace or the raw tables' namespace
    "polaris.namespace_prefix_mistake",  # fail: namespace configured as "<warehouse>.<ns>" instead of "<ns>"
)

REQUEST_TIMEOUT_S = 3.0
HEALTH_PATHS = ("/q/health/ready", "/q/health/live")
DEFAULT_WAREHOUSE = "demo_catalog"
RAW_NAMESPACE = "demo"  # where the raw source tables demo.raw_* live (dbt sources, bronze assets)
DEFAULT_LAYERS = ("bronze", "silver", "gold")


async def _health(ctx: ProbeContext, ep: Endpoint) -> Finding:
    answers: dict[str, Answer] = {}

    async def get(path: str) -> None:
        answers[path] = await call(ctx, "GET", ep.url.copy_with(path=ep.url.path.rstrip("/") + path))

    async with anyio.create_task_group() as tg:
        for path in HEALTH_PATHS:
            tg.start_soon(get, path)
    subject = str(ep.url.copy_with(path=ep.url.path.rstrip("/") + "/q/health"))
    evidence: dict[str, Any] = {"endpoint": ep.name, "url": subject}
    bad: list[str] = []
    for path in HEALTH_PATHS:
        ans = answers[path]
        body = ans.json if isinstance(ans.json, dict) else None
        if ans.trouble or (body is None and ans.status in (200, 503)):
            code, summary, extra = classify(ans, f"Polaris health {path}")
            return ctx.finding(Status.FAIL, code, summary, subject=subject, evidence={**evidence, **extra})
        checks = [c for c in (body or {}).get("checks") or [] if isinstance(c, dict)]
        state = (body or {}).get("status")
        evidence[path.rsplit("/", 1)[-1]] = {"status_code": ans.status, "status": state, "checks": checks}
        if ans.status != 200 or str(state).upper() != "UP":
            bad.append(f"{path} -> HTTP {ans.status} {state or ans.text[:80]!r}")
    if bad:
        summary = f"Polaris reports itself unhealthy: {'; '.join(bad)}"
        return ctx.finding(Status.FAIL, "polaris.unhealthy", summary, subject=subject, evidence=evidence)
    return ctx.finding(Status.OK, "polaris.healthy", "Polaris is ready and live", subject=subject, evidence=evidence)


def _storage_findings(ctx: ProbeContext, cat: CatalogTarget, storage: dict[str, Any]) -> list[Finding]:
    """Compare the catalog's ``storageConfigInfo`` with platform.yaml ``storage.*``."""
    endpoint = str(storage["endpoint"]) if storage.get("endpoint") else None
    internal = str(storage["endpointInternal"]) if storage.get("endpointInternal") else None
    allowed = [str(a) for a in storage.get("allowedLocations") or []]
    profiles = storage_profiles(ctx, cat)
    platform_endpoints = sorted({p.endpoint for p in profiles if p.endpoint})
    buckets = sorted({p.bucket for p in profiles})
    evidence: dict[str, Any] = {
        "warehouse": cat.warehouse,
        "storage_type": storage.get("storageType"),
        "storage_endpoint": endpoint,
        "storage_host": host_of(endpoint),
        "endpoint_internal": internal,
        "path_style_access": storage.get("pathStyleAccess"),
        "role_arn": storage.get("roleArn"),
        "sts_unavailable": storage.get("stsUnavailable"),
        "sts_endpoint": storage.get("stsEndpoint"),
        "region": storage.get("region"),
        "allowed_locations": allowed,
        "platform_storage_endpoints": platform_endpoints,
        "platform_buckets": buckets,
    }
    subject = f"{cat.warehouse}.storageConfigInfo"
    out: list[Finding] = []

    def add(status: Status, code: str, summary: str, part: str = "", **extra: Any) -> None:
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
    if own and storage.get("pathStyleAccess") is not True:
        vhosts = [f"{b}.{host_of(own)}" for b in buckets]
        add(
            Status.FAIL,
            "polaris.virtual_host_addressing",
            f"catalog {cat.warehouse} uses S3 endpoint {own} without pathStyleAccess: the SDK asks for "
            f"<bucket>.{host_of(own)}, which an S3-compatible store's DNS does not know",
            virtual_hosts=vhosts,
            part="pathStyleAccess",
        )
    if storage.get("roleArn") and storage.get("stsUnavailable") is not True and own:
        add(
            Status.WARN,
            "polaris.role_without_sts",
            f"catalog {cat.warehouse} sets roleArn without stsUnavailable: every table access first calls STS "
            f"AssumeRole at {storage.get('stsEndpoint') or own}",
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


async def _namespace(
    ctx: ProbeContext, cat: CatalogTarget, token: str, prefix: str, *, ns: str, origin: str
) -> Finding:
    evidence: dict[str, Any] = {"namespace": ns, "warehouse": cat.warehouse, "expected_by": origin}
    ans = await call(ctx, "GET", cat.rest(prefix, "namespaces", ns_path(ns)), token=token)
    if ans.status == 200 and isinstance(ans.json, dict):
        props = ans.json.get("properties")
        evidence["location"] = props.get("location") if isinstance(props, dict) else None
        return ctx.finding(Status.OK, "polaris.namespace_ok", f"namespace {ns} exists", subject=ns, evidence=evidence)
    if ans.status != 404:
        code, summary, extra = classify(ans, f"namespace {ns}")
        return ctx.finding(Status.FAIL, code, summary, subject=ns, evidence={**evidence, **extra})
    evidence.update(error_of(ans))
    head, _, rest = ns.partition(".")
    if rest and head == cat.warehouse:
        intended = await call(ctx, "GET", cat.rest(prefix, "namespaces", ns_path(rest)), token=token)
        exists = intended.status == 200
        return ctx.finding(
            Status.FAIL,
            "polaris.namespace_prefix_mistake",
            f"namespace {ns} is configured with the warehouse name as a prefix; the catalog's namespace is {rest}"
            + ("" if exists else f" (which does not exist either: HTTP {intended.status})"),
            subject=ns,
            evidence={**evidence, "intended_namespace": rest, "intended_exists": exists},
        )
    summary = f"namespace {ns} does not exist in warehouse {cat.warehouse}"
    return ctx.finding(Status.FAIL, "polaris.namespace_missing", summary, subject=ns, evidence=evidence)


async def _catalog(ctx: ProbeContext, cat: CatalogTarget) -> list[Finding]:
    token = await login(ctx, cat)
    if not isinstance(token, str):
        code, summary, evidence = token
        status = (
            Status.UNKNOWN if code in ("polaris.credentials_missing", Code.ENDPOINT_NOT_CONFIGURED) else Status.FAIL
        )
        return [ctx.finding(status, code, summary, subject=cat.subject, evidence=evidence)]
    base = cat.evidence()
    out = [
        ctx.finding(
            Status.OK, "polaris.auth_ok", f"Polaris issued a token ({cat.scope})", subject=cat.subject, evidence=base
        )
    ]
    answers: dict[str, Answer] = {}

    async def fetch(key: str, url: httpx.URL) -> None:
        answers[key] = await call(ctx, "GET", url, token=token)

    async with anyio.create_task_group() as tg:
        tg.start_soon(fetch, "config", cat.config_url())
        tg.start_soon(fetch, "mgmt", cat.management(f"catalogs/{quote(cat.warehouse, safe='')}"))
    config, mgmt = answers["config"], answers["mgmt"]
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
        code, summary, extra = classify(config, f"catalog config for {cat.warehouse}")
        return [*out, ctx.finding(Status.FAIL, code, summary, subject=cat.warehouse, evidence={**base, **extra})]
    out.append(
        ctx.finding(
            Status.OK,
            "polaris.warehouse_ok",
            f"warehouse {cat.warehouse} exists",
            subject=cat.warehouse,
            evidence={**base, "prefix": prefix},
        )
    )
    storage = mgmt.json.get("storageConfigInfo") if isinstance(mgmt.json, dict) else None
    if mgmt.status == 200 and isinstance(storage, dict):
        out.extend(_storage_findings(ctx, cat, storage))
    else:
        _, why, extra = classify(mgmt, f"management API catalog {cat.warehouse}")
        out.append(
            ctx.finding(
                Status.UNKNOWN,
                "polaris.storage_config_unreadable",
                f"storage config not compared: {why}",
                subject=f"{cat.warehouse}.storageConfigInfo",
                evidence={**base, **extra},
            )
        )
    results: list[Finding] = []

    async def one(ns: str, origin: str) -> None:
        results.append(await _namespace(ctx, cat, token, prefix, ns=ns, origin=origin))

    async with anyio.create_task_group() as tg:
        for ns, origin in expected_namespaces(ctx, cat).items():
            tg.start_soon(one, ns, origin)
    return out + sorted(results, key=lambda f: f.subject)


@probe(
    "polaris",
    components=["polaris"],
    timeout=REQUEST_TIMEOUT_S * 4 + 4,  # health || login, config || management, namespace, its prefix check
    description="Polaris health, OAuth login, warehouse, storage config and namespaces against platform.yaml",
)
async def polaris(ctx: ProbeContext) -> list[Finding]:
    results: list[Finding] = []

    async def health(ep: Endpoint) -> None:
        results.append(await _health(ctx, ep))

    async def catalog(cat: CatalogTarget) -> None:
        results.extend(await _catalog(ctx, cat))

    async with anyio.create_task_group() as tg:
        for ep in ctx.endpoints():
            if ep.name == "management" and ep.url.scheme in ("http", "https"):
                tg.start_soon(health, ep)
        for cat in catalog_targets(ctx):
            tg.start_soon(catalog, cat)
    return results


# --- the catalog client shared with the iceberg probe -----------------------------------------------------------
Failure = tuple[str, str, dict[str, Any]]  # (code, summary, evidence) of an answer that is not the one expected


@dataclass(frozen=True)
class Answer:
    """One HTTP exchange: the answer, or why there was none (``trouble``: timeout, refused, tls, protocol ...)."""

    url: httpx.URL
    status: int = 0
    json: Any = None
    text: str = ""
    trouble: str | None = None
    error: str | None = None


def _trouble(exc: httpx.HTTPError) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        if "SSL" in type(seen).__name__ or "CERTIFICATE" in str(seen) or "SSL" in str(seen):
            return "tls"
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return "refused"
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return "unreachable" if isinstance(exc, httpx.ConnectError) else "protocol"


async def call(ctx: ProbeContext, method: str, url: httpx.URL, *, token: str | None = None, **kw: Any) -> Answer:
    """One request under the per-request timeout; every failure becomes an :class:`Answer` with a reason."""
    headers = dict(kw.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = None
    with anyio.move_on_after(REQUEST_TIMEOUT_S + 0.5):  # httpx's timeout is per phase; this bounds the whole call
        try:
            response = await ctx.http.request(method, url, headers=headers, timeout=REQUEST_TIMEOUT_S, **kw)
        except httpx.HTTPError as exc:
            return Answer(url, trouble=_trouble(exc), error=f"{type(exc).__name__}: {exc}"[:300])
    if response is None:
        return Answer(url, trouble="timeout", error=f"no complete answer within {REQUEST_TIMEOUT_S + 0.5:g}s")
    try:
        body: Any = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    return Answer(url, response.status_code, body, response.text[:500])


def error_of(ans: Answer) -> dict[str, Any]:
    """Polaris's ErrorModel (``{"error": {"type", "message"}}``) or RFC 6749 error, flattened for evidence."""
    err = ans.json.get("error") if isinstance(ans.json, dict) else None
    if isinstance(err, dict):
        return {"error_type": err.get("type"), "message": err.get("message"), "stack": err.get("stack")}
    if isinstance(err, str):
        return {"error_type": err, "message": ans.json.get("error_description")}
    return {"body": ans.text[:300]} if ans.text else {}


def classify(ans: Answer, what: str) -> Failure:
    """The code and reason for an answer that is not the expected one."""
    evidence: dict[str, Any] = {"url": str(ans.url.copy_with(query=None)), "status_code": ans.status or None}
    if ans.trouble == "protocol":
        evidence.update(reason="truncated", error=ans.error)
        return "polaris.bad_response", f"{what}: the answer broke off ({ans.error})", evidence
    if ans.trouble:
        evidence.update(reason=ans.trouble, error=ans.error)
        return "polaris.unreachable", f"{what}: no answer from {ans.url.host}:{ans.url.port} ({ans.trouble})", evidence
    evidence.update(error_of(ans))
    if ans.status in (401, 403):
        return "polaris.not_authorized", f"{what}: refused with HTTP {ans.status}", evidence
    if 200 <= ans.status < 300:
        evidence["reason"] = "not_json"
        return "polaris.bad_response", f"{what}: HTTP {ans.status} with a truncated or non-JSON body", evidence
    return "polaris.api_error", f"{what}: HTTP {ans.status} {evidence.get('message') or ''}".rstrip(), evidence


@dataclass(frozen=True)
class CatalogTarget:
    """One Polaris catalog Floe uses, as reached from our vantage."""

    name: str
    warehouse: str
    url: httpx.URL | None  # the catalog base (…/api/catalog) from our vantage
    platform_uri: str | None
    scope: str
    client_id: str | None
    client_secret: str | None = field(default=None, repr=False)
    access_delegation: str = "none"
    default: bool = True

    @property
    def subject(self) -> str:
        return str(self.url) if self.url else self.warehouse

    def evidence(self) -> dict[str, Any]:
        return {
            "catalog": self.name,
            "catalog_url": str(self.url) if self.url else None,
            "platform_uri": self.platform_uri,
            "warehouse": self.warehouse,
            "scope": self.scope,
            "client_id": self.client_id,
        }

    def rest(self, *parts: str) -> httpx.URL:
        assert self.url is not None
        return self.url.copy_with(path=self.url.path.rstrip("/") + "/v1/" + "/".join(parts))

    def config_url(self) -> httpx.URL:
        return self.rest("config").copy_with(params={"warehouse": self.warehouse})

    def management(self, tail: str) -> httpx.URL:
        assert self.url is not None
        root = self.url.path.rstrip("/").removesuffix("/api/catalog")
        return self.url.copy_with(path=f"{root}/api/management/v1/{tail}")


def ns_path(ns: str) -> str:
    """A dotted namespace as one REST path segment (parts joined by the unit separator, percent-encoded)."""
    return quote("\x1f".join(ns.split(".")), safe="")


def config_prefix(config: Answer, warehouse: str) -> str | None:
    """The ``prefix`` the catalog's ``/v1/config`` hands out (Polaris: the warehouse name), or None if unusable."""
    if config.status != 200 or not isinstance(config.json, dict):
        return None
    overrides = config.json.get("overrides")
    return str(overrides.get("prefix") or warehouse) if isinstance(overrides, dict) else warehouse


def normal_url(raw: str) -> str:
    url = httpx.URL(raw if "://" in raw else f"https://{raw}")
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return f"{url.scheme}://{url.host.lower()}:{port}{url.path.rstrip('/')}"


def host_of(raw: str | None) -> str | None:
    return httpx.URL(raw if "://" in raw else f"https://{raw}").host if raw else None


def location_overlaps(location: str, allowed: str) -> bool:
    a, b = location.rstrip("/") + "/", allowed.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)


def to_our_vantage(ctx: ProbeContext, raw: str) -> httpx.URL | None:
    """``raw`` (a URL as some vantage writes it) as our vantage reaches it, via any component's endpoint URLs."""
    try:
        url = httpx.URL(raw)
        key = (url.host.lower(), url.port or {"http": 80, "https": 443}.get(url.scheme))
        for comp in ctx.targets.components.values():
            for ep in comp.endpoints.values():
                mine = ep.url_for(ctx.vantage)
                for other in ep.urls.values():
                    o = httpx.URL(other)
                    if mine and (o.host.lower(), o.port or {"http": 80, "https": 443}.get(o.scheme)) == key:
                        m = httpx.URL(mine)
                        return m.copy_with(path=m.path.rstrip("/") + url.path, query=url.query or None)
    except (httpx.InvalidURL, ValueError):
        return None
    return None


def catalog_targets(ctx: ProbeContext) -> list[CatalogTarget]:
    """The platform's Polaris/REST catalogs (else Floe's default), each with a URL from our vantage."""
    api = next((e for e in ctx.for_component("polaris").endpoints() if e.name == "api"), None)
    client_id, secret = ctx.credential("polaris_client_id"), ctx.credential("polaris_client_secret")
    scope = ctx.targets.credentials.polaris_scope
    if ctx.platform is None or not ctx.platform.catalogs:
        url = api.url.copy_with(path=api.url.path.rstrip("/") + "/api/catalog") if api else None
        return [CatalogTarget("default", DEFAULT_WAREHOUSE, url, None, scope, client_id, secret)]
    out = []
    for i, (name, cat) in enumerate(ctx.platform.catalogs.items()):
        if cat.type not in ("polaris", "rest"):
            continue
        url = to_our_vantage(ctx, cat.uri)
        if url is None and api is not None:
            url = api.url.copy_with(path=api.url.path.rstrip("/") + httpx.URL(cat.uri).path)
        creds = cat.credentials
        cid = client_id or (creds.client_id if isinstance(creds.client_id, str) else None)
        sec = secret or (creds.client_secret.get_secret_value() if isinstance(creds.client_secret, SecretStr) else None)
        first = name == "default" if "default" in ctx.platform.catalogs else i == 0
        out.append(
            CatalogTarget(
                name, cat.warehouse, url, cat.uri, creds.scope or scope, cid, sec, cat.access_delegation, first
            )
        )
    return out


def storage_profiles(ctx: ProbeContext, cat: CatalogTarget) -> list[StorageProfile]:
    """platform.yaml storage profiles used with this catalog (its layers' plus ``default``; else all)."""
    if ctx.platform is None:
        return []
    storage = ctx.platform.storage
    layers = ctx.platform.layers.values()
    refs = {la.storage_ref or "" for la in layers if (la.catalog_ref or "default") == cat.name}
    picked = [storage[r] for r in sorted({*refs, "default"}) if r in storage]
    return picked or list(storage.values())


def expected_namespaces(ctx: ProbeContext, cat: CatalogTarget) -> dict[str, str]:
    """Namespace -> why it is expected: the layers' namespaces, and the raw tables' namespace."""
    out: dict[str, str] = {}
    if ctx.platform is None:
        out = dict.fromkeys(DEFAULT_LAYERS, "Floe's default layers (no platform.yaml)")
    else:
        for name, layer in ctx.platform.layers.items():
            if (layer.catalog_ref or "default") == cat.name or (cat.default and layer.catalog_ref is None):
                out.setdefault(layer.namespace, f"layers.{name}.namespace")
    if cat.default:
        out.setdefault(RAW_NAMESPACE, "raw source tables demo.raw_* (dbt sources, bronze assets)")
    return out


async def login(ctx: ProbeContext, cat: CatalogTarget) -> str | Failure:
    """A bearer token from ``POST {catalog}/v1/oauth/tokens`` (client credentials), or why there is none."""
    evidence = cat.evidence()
    if cat.url is None:
        return Code.ENDPOINT_NOT_CONFIGURED, f"no URL for catalog {cat.platform_uri} from {ctx.vantage}", evidence
    if not cat.client_id or not cat.client_secret:
        why = "no Polaris client id/secret (targets credentials or POLARIS_CLIENT_ID/POLARIS_CLIENT_SECRET)"
        return "polaris.credentials_missing", why, evidence
    form = {
        "grant_type": "client_credentials",
        "client_id": cat.client_id,
        "client_secret": cat.client_secret,
        "scope": cat.scope,
    }
    ans = await call(ctx, "POST", cat.rest("oauth", "tokens"), data=form)
    token = ans.json.get("access_token") if isinstance(ans.json, dict) else None
    if ans.status == 200 and isinstance(token, str) and token:
        return token
    code, summary, extra = classify(ans, "OAuth token request")
    error = extra.get("error_type")
    if error == "invalid_scope":
        code, summary = "polaris.scope_invalid", f"Polaris rejects the scope {cat.scope!r} (400 invalid_scope)"
    elif ans.status in (401, 403) or error in ("unauthorized_client", "invalid_client"):
        code = "polaris.auth_failed"
        summary = f"Polaris refuses client {cat.client_id!r}: HTTP {ans.status} {error or ''} (wrong id or secret?)"
    return code, summary, {**evidence, **extra}
