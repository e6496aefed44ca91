"""The Iceberg REST catalog API under ``/api/catalog/v1``, as Polaris serves it to pyiceberg and Spark.

Why these routes and shapes: they are what real clients call (``RestCatalog(uri=".../api/catalog",
warehouse=NAME, credential="id:secret")`` does ``POST oauth/tokens``, ``GET config?warehouse=NAME``, then
everything under the returned ``prefix``), and what floe-agents probes. The handlers only parse and route;
Polaris's rules live in :mod:`warehouse` and :mod:`tables`, blocking work runs in worker threads.
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from floe_lab.polaris import errors, tables, validate
from floe_lab.polaris.auth import authorize_catalog
from floe_lab.polaris.model import CatalogEntity
from floe_lab.polaris.state import PRINCIPAL, PolarisState
from floe_lab.polaris.warehouse import Warehouse

__all__ = ["ENDPOINTS", "TOKEN_PATH", "routes"]

TOKEN_PATH = "/api/catalog/v1/oauth/tokens"  # noqa: S105 - a path
_V1 = "/api/catalog/v1"
_NS = _V1 + "/{prefix}/namespaces/{namespace}"
_TABLE = _NS + "/tables/{table}"
ENDPOINTS = [
    "GET /v1/{prefix}/namespaces", "GET /v1/{prefix}/namespaces/{namespace}",
    "HEAD /v1/{prefix}/namespaces/{namespace}", "POST /v1/{prefix}/namespaces",
    "POST /v1/{prefix}/namespaces/{namespace}/properties", "DELETE /v1/{prefix}/namespaces/{namespace}",
    "GET /v1/{prefix}/namespaces/{namespace}/tables", "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}", "POST /v1/{prefix}/namespaces/{namespace}/tables",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}", "POST /v1/{prefix}/tables/rename",
    "POST /v1/{prefix}/namespaces/{namespace}/register",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials",
]  # fmt: skip
_WRITE_OPS = frozenset(
    {"CREATE_NAMESPACE", "DROP_NAMESPACE", "UPDATE_NAMESPACE_PROPERTIES", "CREATE_TABLE", "UPDATE_TABLE",
     "DROP_TABLE", "RENAME_TABLE", "REGISTER_TABLE"}
)  # fmt: skip


def _namespace(raw: str) -> tuple[str, ...]:
    """``NamespaceUtils.splitNamespace``: every level kept, empty ones too (such a namespace cannot exist)."""
    return tuple(raw.split("\x1f"))


def _delegation(request: web.Request) -> frozenset[str]:
    raw = request.headers.get("X-Iceberg-Access-Delegation", "")
    return frozenset(part.strip().lower() for part in raw.split(",") if part.strip())


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError as exc:
        raise errors.illegal_argument(f"Invalid JSON request body: {exc}") from None
    if not isinstance(body, dict):
        raise errors.illegal_argument("Invalid JSON request body: expected an object")
    return body


class _Api:
    def __init__(self, state: PolarisState) -> None:
        self.state = state

    async def _catalog(self, request: web.Request, op: str) -> CatalogEntity:
        prefix = request.match_info["prefix"]
        principal = request[PRINCIPAL]

        def resolve() -> CatalogEntity:
            catalog = self.state.catalog(prefix)
            if catalog is None:
                raise errors.not_found(f"Unable to find warehouse {prefix}")
            authorize_catalog(self.state.store, principal, prefix, op, write=op in _WRITE_OPS)
            return catalog

        return await self.state.run(resolve)

    async def _warehouse(self, request: web.Request, op: str) -> Warehouse:
        catalog = await self._catalog(request, op)
        return await self.state.run(self.state.warehouse, catalog)

    # --- auth + config ----------------------------------------------------------------------------------------
    async def token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        basic = _basic_auth(request.headers.get("Authorization"))
        body = await self.state.run(self.state.broker.issue, form, basic)
        return web.json_response(body)

    async def config(self, request: web.Request) -> web.Response:
        warehouse = request.query.get("warehouse")
        if not warehouse:
            raise errors.bad_request("Please specify a warehouse")
        catalog = await self.state.run(self.state.catalog, warehouse)
        if catalog is None:
            raise errors.not_found(f"Unable to find warehouse {warehouse}")
        return web.json_response(
            {"defaults": dict(catalog.properties), "overrides": {"prefix": catalog.name}, "endpoints": ENDPOINTS}
        )

    # --- namespaces -------------------------------------------------------------------------------------------
    async def list_namespaces(self, request: web.Request) -> web.Response:
        wh = await self._warehouse(request, "LIST_NAMESPACES")
        parent = request.query.get("parent")
        found = await self.state.run(wh.list_namespaces, () if parent is None else _namespace(parent))
        return web.json_response({"namespaces": [list(ns) for ns in found]})

    async def create_namespace(self, request: web.Request) -> web.Response:
        body = await _json(request)
        namespace = validate.namespace_levels(body.get("namespace"))  # checked before the catalog, like Polaris
        props = validate.string_map(body.get("properties"))
        wh = await self._warehouse(request, "CREATE_NAMESPACE")
        created = await self.state.run(wh.create_namespace, namespace, props)
        return web.json_response({"namespace": list(namespace), "properties": created})

    async def load_namespace(self, request: web.Request) -> web.Response:
        wh = await self._warehouse(request, "LOAD_NAMESPACE_METADATA")
        namespace = _namespace(request.match_info["namespace"])
        props = await self.state.run(wh.require_namespace, namespace)
        if request.method == "HEAD":
            return web.Response(status=204)
        return web.json_response({"namespace": list(namespace), "properties": props})

    async def drop_namespace(self, request: web.Request) -> web.Response:
        wh = await self._warehouse(request, "DROP_NAMESPACE")
        await self.state.run(wh.drop_namespace, _namespace(request.match_info["namespace"]))
        return web.Response(status=204)

    async def update_namespace(self, request: web.Request) -> web.Response:
        body = await _json(request)
        removals = validate.string_list(body.get("removals"))
        updates = validate.string_map(body.get("updates"))
        wh = await self._warehouse(request, "UPDATE_NAMESPACE_PROPERTIES")
        summary = await self.state.run(
            wh.update_namespace, _namespace(request.match_info["namespace"]), removals, updates
        )
        return web.json_response(summary)

    # --- tables -----------------------------------------------------------------------------------------------
    def _identifier(self, request: web.Request) -> tuple[str, ...]:
        return (*_namespace(request.match_info["namespace"]), request.match_info["table"])

    async def list_tables(self, request: web.Request) -> web.Response:
        wh = await self._warehouse(request, "LIST_TABLES")
        found = await self.state.run(wh.list_tables, _namespace(request.match_info["namespace"]))
        return web.json_response({"identifiers": [{"namespace": list(t[:-1]), "name": t[-1]} for t in found]})

    async def create_table(self, request: web.Request) -> web.Response:
        namespace = _namespace(request.match_info["namespace"])
        create = tables.parse_create(namespace, await request.read())
        wh = await self._warehouse(request, "CREATE_TABLE")
        body = await self.state.run(tables.create_table, wh, namespace, create, _delegation(request))
        return web.json_response(body)

    async def load_table(self, request: web.Request) -> web.Response:
        identifier = self._identifier(request)
        if request.method == "HEAD":
            wh = await self._warehouse(request, "TABLE_EXISTS")
            await self.state.run(wh.require_table, identifier)
            return web.Response(status=204)
        wh = await self._warehouse(request, "LOAD_TABLE")
        body = await self.state.run(tables.load_table, wh, identifier, _delegation(request))
        return web.json_response(body)

    async def credentials(self, request: web.Request) -> web.Response:
        wh = await self._warehouse(request, "LOAD_TABLE")
        body = await self.state.run(tables.load_credentials, wh, self._identifier(request))
        return web.json_response(body)

    async def commit_table(self, request: web.Request) -> web.Response:
        raw = await request.read()
        wh = await self._warehouse(request, "UPDATE_TABLE")
        body = await self.state.run(tables.commit_table, wh, self._identifier(request), raw)
        return web.json_response(body)

    async def drop_table(self, request: web.Request) -> web.Response:
        wh = await self._warehouse(request, "DROP_TABLE")
        await self.state.run(wh.drop_table, self._identifier(request))
        return web.Response(status=204)

    async def rename_table(self, request: web.Request) -> web.Response:
        body = await _json(request)
        source, destination = _table_ref(body.get("source")), _table_ref(body.get("destination"))
        validate.namespace_levels(list(destination))  # EntityNameValidator on the new identifier only
        wh = await self._warehouse(request, "RENAME_TABLE")
        await self.state.run(wh.rename_table, source, destination)
        return web.Response(status=204)

    async def register_table(self, request: web.Request) -> web.Response:
        body = await _json(request)
        wh = await self._warehouse(request, "REGISTER_TABLE")
        namespace = _namespace(request.match_info["namespace"])
        answer = await self.state.run(tables.register_table, wh, namespace, body, _delegation(request))
        return web.json_response(answer)


def _table_ref(raw: Any) -> tuple[str, ...]:
    if raw is not None and not isinstance(raw, dict):
        raise validate.mismatched("org.apache.iceberg.catalog.TableIdentifier", raw)
    if not raw or not raw.get("name"):
        raise errors.illegal_argument("Invalid table identifier: missing name")
    if not isinstance(raw["name"], str):
        raise validate.mismatched("java.lang.String", raw["name"])
    return (*validate.string_list(raw.get("namespace")), raw["name"])


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def routes(state: PolarisState) -> list[web.RouteDef]:
    api = _Api(state)
    return [
        web.post(TOKEN_PATH, api.token),
        web.get(_V1 + "/config", api.config, allow_head=False),
        web.get(_V1 + "/{prefix}/namespaces", api.list_namespaces, allow_head=False),
        web.post(_V1 + "/{prefix}/namespaces", api.create_namespace),
        web.get(_NS, api.load_namespace, allow_head=False),
        web.head(_NS, api.load_namespace),
        web.delete(_NS, api.drop_namespace),
        web.post(_NS + "/properties", api.update_namespace),
        web.get(_NS + "/tables", api.list_tables, allow_head=False),
        web.post(_NS + "/tables", api.create_table),
        web.post(_NS + "/register", api.register_table),
        web.get(_TABLE, api.load_table, allow_head=False),
        web.head(_TABLE, api.load_table),
        web.post(_TABLE, api.commit_table),
        web.delete(_TABLE, api.drop_table),
        web.get(_TABLE + "/credentials", api.credentials, allow_head=False),
        web.post(_V1 + "/{prefix}/tables/rename", api.rename_table),
    ]
