"""Polaris management API for catalogs: ``/api/management/v1/catalogs[/{name}]``.

Why: the warehouse *is* a management-API catalog, and its ``storageConfigInfo`` is where the endpoint fault is
configured and where floe-agents reads it back. Creating a catalog also creates Polaris's ``catalog_admin``
catalog role and wires it to ``service_admin``; updates use ``entityVersion`` optimistic concurrency
(``CommitFailedException`` 409 when stale); a catalog whose locations overlap another's, or that still has
namespaces, is refused with Polaris's messages.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from floe_lab.polaris import errors, validate
from floe_lab.polaris.auth import CATALOG_ADMIN, SERVICE_ADMIN, Principal, authorize_root
from floe_lab.polaris.model import CatalogEntity, parse_catalog
from floe_lab.polaris.state import PRINCIPAL, PolarisState, catalog_from_entity, catalog_to_entity
from floe_lab.polaris.store import Entity

__all__ = ["MGMT", "grant_key", "now_ms", "read_body", "routes"]

MGMT = "/api/management/v1"
_ADMIN_GRANTS = ("CATALOG_MANAGE_ACCESS", "CATALOG_MANAGE_METADATA")


def now_ms() -> int:
    return int(time.time() * 1000)


def grant_key(grant: dict[str, Any]) -> str:
    return json.dumps(grant, sort_keys=True, separators=(",", ":"))


def _locations(catalog: CatalogEntity) -> set[str]:
    return {f"{loc.rstrip('/')}/" for loc in (catalog.base_location, *catalog.storage.allowed_locations) if loc}


def _overlaps(state: PolarisState, catalog: CatalogEntity) -> bool:
    mine = _locations(catalog)
    for other in state.store.entities("catalog"):
        if other.name == catalog.name:
            continue
        theirs = _locations(catalog_from_entity(other))
        if any(a.startswith(b) or b.startswith(a) for a in mine for b in theirs):
            return True
    return False


class _Catalogs:
    def __init__(self, state: PolarisState) -> None:
        self.state = state

    def _create(self, raw: Any) -> CatalogEntity:
        catalog = parse_catalog(raw, now_ms())
        if _overlaps(self.state, catalog):
            raise errors.PolarisError(
                400,
                "ValidationException",
                f"Cannot create Catalog {catalog.name}. One or more of its locations overlaps with an existing catalog",
            )
        if not self.state.store.insert(catalog_to_entity(catalog)):
            raise errors.already_exists(
                f"Cannot create Catalog {catalog.name}. Catalog already exists or resolution failed"
            )
        store = self.state.store
        store.insert(Entity("catalog_role", catalog.name, CATALOG_ADMIN, {"properties": {}}, 1, now_ms(), now_ms()))
        for privilege in _ADMIN_GRANTS:
            store.link(
                "grant", f"{catalog.name}\x1f{CATALOG_ADMIN}", grant_key({"type": "catalog", "privilege": privilege})
            )
        store.link("catalog-role-assignment", SERVICE_ADMIN, f"{catalog.name}\x1f{CATALOG_ADMIN}")
        return catalog

    def _get(self, name: str) -> CatalogEntity:
        catalog = self.state.catalog(name)
        if catalog is None:
            raise errors.not_found(f"Catalog {name} not found")
        return catalog

    def _update(self, name: str, body: dict[str, Any]) -> CatalogEntity:
        expected = validate.int_field(body, "currentEntityVersion")
        properties = None if body.get("properties") is None else validate.string_map(body["properties"])
        storage = validate.object_field(
            body, "storageConfigInfo", "org.apache.polaris.core.admin.model.StorageConfigInfo"
        )
        current = self._get(name)
        if expected != current.entity_version:
            raise errors.commit_conflict("Catalog", current.entity_version, expected)
        updated = current.updated(properties, storage, now_ms())
        if _overlaps(self.state, updated):
            raise errors.PolarisError(
                400,
                "ValidationException",
                f"Cannot update Catalog {name}. One or more of its new locations overlaps with an existing catalog",
            )
        if not self.state.store.replace_if_version(catalog_to_entity(updated), current.entity_version):
            raise errors.PolarisError(
                409, "CommitConflictException", f"Concurrent modification on Catalog '{name}'; retry later"
            )
        return updated

    def _delete(self, name: str) -> None:
        catalog = self._get(name)
        warehouse = self.state.warehouse(catalog)
        if warehouse.sql.list_namespaces():
            raise errors.bad_request(f"Catalog '{name}' cannot be dropped, it is not empty")
        store = self.state.store
        store.delete("catalog", name)
        for role in store.entities("catalog_role", name):
            key = f"{name}\x1f{role.name}"
            store.unlink("grant", left=key)
            store.unlink("catalog-role-assignment", right=key)
        store.delete_scope(name)

    # --- handlers ---------------------------------------------------------------------------------------------
    async def list(self, request: web.Request) -> web.Response:
        _root(request, "LIST_CATALOGS")
        found = await self.state.run(self.state.store.entities, "catalog")
        return web.json_response({"catalogs": [catalog_from_entity(e).to_json() for e in found]})

    async def create(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        _root(request, "CREATE_CATALOG")
        catalog = await self.state.run(self._create, body.get("catalog"))
        self.state.log.log(
            "INFO", "org.apa.pol.ser.adm.PolarisServiceImpl", f"Created new catalog {json.dumps(catalog.to_json())}"
        )
        return web.json_response(catalog.to_json(), status=201)

    async def get(self, request: web.Request) -> web.Response:
        name = _path_name(request, "getCatalog")
        _root(request, "GET_CATALOG")
        catalog = await self.state.run(self._get, name)
        return web.json_response(catalog.to_json())

    async def update(self, request: web.Request) -> web.Response:
        name = _path_name(request, "updateCatalog")
        body = await read_body(request)
        _root(request, "UPDATE_CATALOG")
        catalog = await self.state.run(self._update, name, body)
        return web.json_response(catalog.to_json())

    async def delete(self, request: web.Request) -> web.Response:
        name = _path_name(request, "deleteCatalog")
        _root(request, "DELETE_CATALOG")
        await self.state.run(self._delete, name)
        return web.Response(status=204)


def _path_name(request: web.Request, operation: str) -> str:
    """The ``{catalogName}`` path parameter, as Bean Validation checks it before the handler runs."""
    return validate.entity_name(request.match_info["catalogName"], f"{operation}.catalogName")


def _root(request: web.Request, op: str) -> Principal:
    principal = request[PRINCIPAL]
    authorize_root(principal, op)
    return principal


async def read_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise errors.PolarisError(400, "JsonParseException", f"Invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise validate.mismatched("java.lang.Object", body)
    return body


def routes(state: PolarisState) -> list[web.RouteDef]:
    api = _Catalogs(state)
    return [
        web.get(MGMT + "/catalogs", api.list, allow_head=False),
        web.post(MGMT + "/catalogs", api.create),
        web.get(MGMT + "/catalogs/{catalogName}", api.get, allow_head=False),
        web.put(MGMT + "/catalogs/{catalogName}", api.update),
        web.delete(MGMT + "/catalogs/{catalogName}", api.delete),
    ]
