"""The small Polaris catalog client the catalog-facing probes share: login, calls, answers, URL translation.

Polaris, Iceberg and the storage follow-ups all talk to the same catalog with the same client credentials, from
the tool's vantage: they need the same answer classes (timeout, refused, TLS, 401 vs 400 invalid_scope, 404
``Unable to find warehouse``), the same translation of the in-cluster catalog URI to a URL reachable from here,
and the same reading of platform.yaml (warehouse, namespaces, storage profiles). One module keeps those answers
identical everywhere they are reported.
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
from floe_agents.context import ProbeContext
from floe_agents.findings import Code
from floe_agents.probes._http import UNREACHABLE, failure_reason

REQUEST_TIMEOUT_S = 3.0
DEFAULT_WAREHOUSE = "demo_catalog"
RAW_NAMESPACE = "demo"  # where the raw source tables demo.raw_* live (dbt sources, bronze assets)
DEFAULT_LAYERS = ("bronze", "silver", "gold")

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
            return Answer(url, trouble=failure_reason(exc), error=f"{type(exc).__name__}: {exc}"[:300])
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
    if ans.trouble and ans.trouble not in UNREACHABLE:
        evidence.update(reason=ans.trouble, error=ans.error)
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
    scope = ctx.credential("polaris_scope") or ""
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
    """A bearer token from ``POST {catalog}/v1/oauth/tokens`` (client credentials), or why there is none. Asked
    once per run for each catalog URL and client: every probe that logs in shares the answer."""
    evidence = cat.evidence()
    if cat.url is None:
        return Code.ENDPOINT_NOT_CONFIGURED, f"no URL for catalog {cat.platform_uri} from {ctx.vantage}", evidence
    if not cat.client_id or not cat.client_secret:
        why = "no Polaris client id/secret (targets credentials or POLARIS_CLIENT_ID/POLARIS_CLIENT_SECRET)"
        return "polaris.credentials_missing", why, evidence
    key = ("polaris-token", str(cat.url), cat.client_id, cat.client_secret, cat.scope)
    answer = await ctx.services.once.get(key, lambda: _request_token(ctx, cat))
    if isinstance(answer, str):
        return answer
    code, summary, extra = answer
    return code, summary, {**evidence, **extra}


async def _request_token(ctx: ProbeContext, cat: CatalogTarget) -> str | Failure:
    """The token, or the code, summary and evidence of the refusal (shared: nothing of the asking probe's own)."""
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
    return code, summary, extra
