"""The Polaris catalog knowledge the catalog-facing probes share: login, reading its errors, URL translation.

Polaris, Iceberg and the storage follow-ups all talk to the same catalog with the same client credentials, from
the tool's vantage: they need the same reading of its answers (timeout, refused, TLS, 401 vs 400 invalid_scope,
404 ``Unable to find warehouse``), the same translation of the in-cluster catalog URI to a URL reachable from
here, and the same reading of platform.yaml (warehouse, namespaces, storage profiles). One module keeps those
answers identical everywhere they are reported. Requests go through :func:`probes._http.call_json`; the bodies
are read into :mod:`probes._models.iceberg` and :mod:`probes._models.polaris`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from floe_agents.config.platform import StorageProfile
from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Status
from floe_agents.probes._http import Answer, call_json, read
from floe_agents.probes._models.iceberg import CatalogConfig, ErrorBody, Token
from floe_agents.probes._verdict import Verdict

REQUEST_TIMEOUT_S = 3.0
DEFAULT_WAREHOUSE = "demo_catalog"
DEFAULT_LAYERS = ("bronze", "silver", "gold")


def error_of(ans: Answer) -> dict[str, object]:
    """Polaris's ErrorModel (``{"error": {"type", "message"}}``) or RFC 6749 error, flattened for evidence."""
    body = read(ans, ErrorBody, errors=True)
    found = body.evidence() if body is not None else None
    if found is not None:
        return found
    return {"body": ans.text[:300]} if ans.text else {}


def catalog_problem(ans: Answer, what: str, evidence: Mapping[str, object] | None = None) -> Verdict:
    """The catalog's failure for an answer that is not the expected one (``evidence`` first in its evidence):
    ``polaris.unreachable``, ``polaris.bad_response``, ``polaris.not_authorized`` (401/403 with a token: the
    principal's roles lack a privilege) or ``polaris.api_error``, with the catalog's own error message."""
    ev: dict[str, object] = {**(evidence or {}), "url": ans.url, "status_code": ans.status}
    url = httpx.URL(ans.url)
    if ans.transport_error:
        ev.update(reason=ans.transport_error, error=ans.error)
        if not ans.unreachable:
            return Verdict(Status.FAIL, "polaris.bad_response", f"{what}: the answer broke off ({ans.error})", ev)
        summary = f"{what}: no answer from {url.host}:{url.port} ({ans.reason})"
        return Verdict(Status.FAIL, "polaris.unreachable", summary, ev)
    ev.update(error_of(ans))
    if ans.status in (401, 403):
        return Verdict(Status.FAIL, "polaris.not_authorized", f"{what}: refused with HTTP {ans.status}", ev)
    if ans.success:
        ev["reason"] = "not_json"
        summary = f"{what}: HTTP {ans.status} with a truncated or non-JSON body"
        return Verdict(Status.FAIL, "polaris.bad_response", summary, ev)
    summary = f"{what}: HTTP {ans.status} {ev.get('message') or ''}".rstrip()
    return Verdict(Status.FAIL, "polaris.api_error", summary, ev)


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

    def evidence(self) -> dict[str, object]:
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
    parsed = read(config, CatalogConfig) if config.status == 200 else None
    if parsed is None:
        return None
    return (parsed.overrides or {}).get("prefix") or warehouse


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
        raw = ctx.targets.source_tables
        out.setdefault(raw.namespace, f"raw source tables {raw.namespace}.* (dbt sources, bronze assets)")
    return out


async def login(ctx: ProbeContext, cat: CatalogTarget) -> str | Verdict:
    """A bearer token from ``POST {catalog}/v1/oauth/tokens`` (client credentials), or the verdict saying why
    there is none (``unknown`` when we lack what to ask with). Asked once per run for each catalog URL and client:
    every probe that logs in shares the answer."""
    evidence = cat.evidence()
    if cat.url is None:
        why = f"no URL for catalog {cat.platform_uri} from {ctx.vantage}"
        return Verdict(Status.UNKNOWN, Code.ENDPOINT_NOT_CONFIGURED, why, evidence)
    if not cat.client_id or not cat.client_secret:
        why = "no Polaris client id/secret (targets credentials or POLARIS_CLIENT_ID/POLARIS_CLIENT_SECRET)"
        return Verdict(Status.UNKNOWN, "polaris.credentials_missing", why, evidence)
    key = ("polaris-token", str(cat.url), cat.client_id, cat.client_secret, cat.scope)
    answer = await ctx.services.once.get(key, lambda: _request_token(ctx, cat))
    if isinstance(answer, str):
        return answer
    return replace(answer, evidence={**evidence, **answer.evidence})


async def _request_token(ctx: ProbeContext, cat: CatalogTarget) -> str | Verdict:
    """The token, or the verdict on the refusal (shared: nothing of the asking probe's own in it)."""
    form = {
        "grant_type": "client_credentials",
        "client_id": cat.client_id or "",
        "client_secret": cat.client_secret or "",
        "scope": cat.scope,
    }
    ans = await call_json(
        ctx, "POST", cat.rest("oauth", "tokens"), timeout_s=REQUEST_TIMEOUT_S, bounded=True, data=form
    )
    token = read(ans, Token) if ans.status == 200 else None
    if token is not None and token.access_token:
        return token.access_token
    refused = catalog_problem(ans, "OAuth token request")
    error = refused.evidence.get("error_type")
    if error == "invalid_scope":
        summary = f"Polaris rejects the scope {cat.scope!r} (400 invalid_scope)"
        return replace(refused, code="polaris.scope_invalid", summary=summary)
    if ans.status in (401, 403) or error in ("unauthorized_client", "invalid_client"):
        summary = f"Polaris refuses client {cat.client_id!r}: HTTP {ans.status} {error or ''} (wrong id or secret?)"
        return replace(refused, code="polaris.auth_failed", summary=summary)
    return refused
