"""The catalog client the Polaris and Iceberg remediations share: where the catalog is, logging in, typed calls.

Why our own small client and not the probes' (``probes/_catalog``, private to probes) nor the generated
``apache-polaris`` client: a remediation needs very few calls (get/create a catalog, its roles and grants, a
namespace, a table's existence), each of which must be shown *exactly* in the plan — method, URL, body — before it
is sent. A thin httpx layer over the heal context's client makes the shown request the sent request, answers 401
and 403 as :class:`NotPermittedError`, and reads what the servers answer into the typed models of ``_polaris_models``.

Everything named comes from parameters filled from platform.yaml and the cause's evidence (the warehouse, the
platform's catalogs, layers and storage profiles); where the catalog is comes from the catalog's platform URI
translated to this run's vantage through the targets file, as the probes translate it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import Field, JsonValue

from floe_agents.config.platform import CatalogProfile, LayerConfig, StorageProfile
from floe_agents.heal_context import HealContext, NotPermittedError, RemediationError
from floe_agents.remediation import Action, Change, Params, Step
from floe_agents.remediations._polaris_models import (
    ConfigAnswer,
    GrantsAnswer,
    ManagementCatalog,
    RolesAnswer,
    StorageConfig,
    TablesAnswer,
    TokenAnswer,
    read,
)
from floe_agents.transport import USER_AGENT

__all__ = [
    "USER_AGENT",
    "CatalogParams",
    "GrantsAnswer",
    "ManagementCatalog",
    "Polaris",
    "Resolved",
    "RolesAnswer",
    "StorageConfig",
    "TablesAnswer",
    "expect",
    "http_step",
    "ns_path",
    "read",
    "resolve",
    "to_our_vantage",
]

TIMEOUT_S = 15.0
DEFAULT_URI_PATH = "/api/catalog"


class CatalogParams(Params):
    """Which catalog, and the parts of platform.yaml it is built from (``{platform.catalogs}`` and friends)."""

    warehouse: str = Field(min_length=1, description="The Polaris catalog (warehouse), e.g. '{evidence.warehouse}'.")
    catalogs: dict[str, CatalogProfile] = Field(default_factory=dict)
    layers: dict[str, LayerConfig] = Field(default_factory=dict)
    storage: dict[str, StorageProfile] = Field(default_factory=dict)


@dataclass(frozen=True)
class Resolved:
    """One catalog as platform.yaml describes it: its profile name, URI, layers and the storage they use."""

    warehouse: str
    profile: str
    uri: str | None
    scope: str | None
    access_delegation: str
    layers: dict[str, LayerConfig]
    storage: dict[str, StorageProfile]  # by storage_ref: the layers' profiles plus ``default``

    @property
    def default_storage(self) -> StorageProfile | None:
        return self.storage.get("default") or next(iter(self.storage.values()), None)

    @property
    def endpoint(self) -> str | None:
        """platform.yaml's S3 endpoint for this catalog (the one that resolves where the catalog runs)."""
        first = self.default_storage
        if first is not None and first.endpoint:
            return first.endpoint
        return next((s.endpoint for s in self.storage.values() if s.endpoint), None)

    @property
    def region(self) -> str | None:
        first = self.default_storage
        return first.region if first is not None else None

    @property
    def path_style_access(self) -> bool:
        """Path-style with any custom endpoint (S3-compatible stores have no per-bucket DNS), else as declared."""
        return bool(self.endpoint) or any(s.path_style_access for s in self.storage.values())

    @property
    def buckets(self) -> list[str]:
        return sorted({s.bucket for s in self.storage.values()})

    def bucket_of(self, namespace: str) -> str | None:
        """The bucket of the layer whose namespace this is, else the default storage's (polaris-init's rule)."""
        layer = next((la for la in self.layers.values() if la.namespace == namespace), None)
        if layer is not None and layer.storage_ref in self.storage:
            return self.storage[layer.storage_ref].bucket
        first = self.default_storage
        return first.bucket if first is not None else None

    def location(self, namespace: str) -> str | None:
        """``s3://<bucket>/<namespace>/`` for a namespace's ``location`` property."""
        bucket = self.bucket_of(namespace)
        return f"s3://{bucket}/{namespace.replace('.', '/')}/" if bucket else None


def resolve(params: CatalogParams) -> Resolved:
    """The platform's profile for ``params.warehouse``: its layers and the storage profiles they use (plus
    ``default``; all of them when none is referenced), as the polaris probe reads them."""
    named = [(n, c) for n, c in params.catalogs.items() if c.warehouse == params.warehouse]
    profile_name, profile = named[0] if named else ("default", None)
    default_name = "default" if "default" in params.catalogs else next(iter(params.catalogs), "default")
    layers = {n: la for n, la in params.layers.items() if (la.catalog_ref or default_name) == profile_name}
    refs = sorted({la.storage_ref or "" for la in layers.values()} | {"default"})
    used = {r: params.storage[r] for r in refs if r in params.storage} or dict(params.storage)
    return Resolved(
        warehouse=params.warehouse,
        profile=profile_name,
        uri=profile.uri if profile else None,
        scope=profile.credentials.scope if profile else None,
        access_delegation=profile.access_delegation if profile else "vended-credentials",
        layers=layers,
        storage=used,
    )


def _port(url: httpx.URL) -> int | None:
    return url.port or {"http": 80, "https": 443}.get(url.scheme)


def to_our_vantage(ctx: HealContext, raw: str) -> httpx.URL | None:
    """``raw`` (a URL as some vantage writes it, e.g. the in-cluster one) as this run's vantage reaches it."""
    try:
        url = httpx.URL(raw)
        key = (url.host.lower(), _port(url))
        for comp in ctx.targets.components.values():
            for ep in comp.endpoints.values():
                mine = ep.url_for(ctx.targets.vantage)
                if mine and any((httpx.URL(o).host.lower(), _port(httpx.URL(o))) == key for o in ep.urls.values()):
                    m = httpx.URL(mine)
                    return m.copy_with(path=m.path.rstrip("/") + url.path, query=url.query or None)
    except (httpx.InvalidURL, ValueError):
        return None
    return None


@dataclass
class Polaris:
    """A logged-in client for one catalog: Iceberg REST under ``base`` and the management API next to it."""

    ctx: HealContext
    base: httpx.URL  # …/api/catalog from our vantage
    client_id: str
    client_secret: str = field(repr=False)
    scope: str
    token: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, ctx: HealContext, cat: Resolved) -> Polaris:
        base = to_our_vantage(ctx, cat.uri) if cat.uri else None
        if base is None:
            api = ctx.url("polaris", "api")
            if api is None:
                raise RemediationError(f"no URL for the catalog {cat.uri or cat.warehouse} from this vantage")
            path = httpx.URL(cat.uri).path if cat.uri else DEFAULT_URI_PATH
            base = api.copy_with(path=api.path.rstrip("/") + path)
        client_id, secret = ctx.credential("polaris_client_id"), ctx.credential("polaris_client_secret")
        if not client_id or not secret:
            raise RemediationError("no Polaris client id/secret (targets credentials or POLARIS_CLIENT_ID/_SECRET)")
        scope = cat.scope or ctx.credential("polaris_scope") or "PRINCIPAL_ROLE:ALL"
        return cls(ctx, base, client_id, secret, scope)

    def rest(self, *parts: str) -> httpx.URL:
        return self.base.copy_with(path=self.base.path.rstrip("/") + "/v1/" + "/".join(parts))

    def management(self, *parts: str) -> httpx.URL:
        root = self.base.path.rstrip("/").removesuffix("/api/catalog")
        return self.base.copy_with(path=f"{root}/api/management/v1/" + "/".join(quote(p, safe="") for p in parts))

    async def login(self) -> str:
        if self.token is None:
            form = {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "scope": self.scope,
            }
            ans = await self._send("POST", self.rest("oauth", "tokens"), data=form, auth=False)
            if ans.status_code != 200:
                raise RemediationError(f"the catalog refused the login: HTTP {ans.status_code} {_message(ans)}")
            self.token = read(ans, TokenAnswer, "OAuth token").access_token
        return self.token

    async def call(self, method: str, url: httpx.URL, body: Mapping[str, Any] | None = None) -> httpx.Response:
        """One request as planned; 401/403 raise :class:`NotPermittedError`, other statuses are the caller's."""
        await self.login()
        ans = await self._send(method, url, json=dict(body) if body is not None else None)
        if ans.status_code in (401, 403):
            raise NotPermittedError(method, url.path, _message(ans))
        return ans

    async def _send(self, method: str, url: httpx.URL, *, auth: bool = True, **kw: Any) -> httpx.Response:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            return await self.ctx.http.request(method, url, headers=headers, timeout=TIMEOUT_S, **kw)
        except httpx.HTTPError as exc:
            raise RemediationError(f"{method} {url}: no answer ({type(exc).__name__}: {exc})") from None

    async def catalog(self, warehouse: str) -> ManagementCatalog | None:
        """The management API's catalog, or None when it does not exist."""
        ans = await self.call("GET", self.management("catalogs", warehouse))
        if ans.status_code == 404:
            return None
        expect(ans, f"GET catalog {warehouse}", 200)
        return read(ans, ManagementCatalog, f"GET catalog {warehouse}")

    async def prefix(self, warehouse: str) -> str | None:
        """The Iceberg REST prefix for the warehouse (``/v1/config``), or None when there is no such warehouse."""
        ans = await self.call("GET", self.rest("config").copy_with(params={"warehouse": warehouse}))
        if ans.status_code in (400, 404):
            return None
        expect(ans, f"GET config for {warehouse}", 200)
        return read(ans, ConfigAnswer, f"GET config for {warehouse}").overrides.get("prefix") or warehouse

    async def exists(self, url: httpx.URL, method: str = "GET") -> bool:
        """Whether the entity at ``url`` exists (404: no)."""
        ans = await self.call(method, url)
        if ans.status_code == 404:
            return False
        expect(ans, f"{method} {url.path}", 200, 204)
        return True


def ns_path(namespace: str) -> str:
    """A dotted namespace as one REST path segment (parts joined by the unit separator)."""
    return quote("\x1f".join(namespace.split(".")), safe="")


def _message(ans: httpx.Response) -> str:
    try:
        body = ans.json()
    except ValueError:
        return ans.text[:200]
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or err.get("type") or "")[:200]
    if isinstance(body, dict) and "error" in body:
        return str(body.get("error_description") or body["error"])[:200]
    return ans.text[:200]


def expect(ans: httpx.Response, what: str, *ok: int) -> None:
    """Raise a one-line :class:`RemediationError` unless ``ans`` has one of the ``ok`` statuses."""
    if ans.status_code not in ok:
        raise RemediationError(f"{what}: HTTP {ans.status_code} {_message(ans)}".rstrip())


def _json(ans: httpx.Response) -> JsonValue:
    try:
        body: JsonValue = ans.json()
    except ValueError:
        return None
    return body


def http_step(
    pol: Polaris,
    method: str,
    url: httpx.URL,
    body: Mapping[str, Any] | None,
    *,
    verb: str,
    summary: str,
    undo: str | None,
    before: JsonValue = None,
    ok: tuple[int, ...] = (200, 201, 204),
) -> Step:
    """One planned request as a step: shown exactly (body masked), sent as shown; 409 on a create means someone
    made it meanwhile, which is the state we wanted (done, nothing changed)."""
    action = Action(
        kind="http", verb=verb, target=f"{method} {url}", summary=summary, body=pol.ctx.mask(body), undo=undo
    )

    async def run() -> Change:
        ans = await pol.call(method, url, body)
        if ans.status_code == 409 and verb == "create":
            return Change(action=action, before=before, after="already present (HTTP 409): nothing changed")
        expect(ans, summary, *ok)
        return Change(action=action, before=before, after=pol.ctx.mask(_json(ans)))

    return Step(action=action, run=run)
