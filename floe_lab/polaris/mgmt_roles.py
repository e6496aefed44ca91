"""Polaris management API for principals, principal roles, catalog roles and grants.

Why: Floe's ``polaris-init`` job creates catalog role ``demo_data_admin``, grants it privileges and assigns it
to principal role ``service_admin``; a principal created for an app gets its own client id/secret. Those
wirings decide whether a token can touch a catalog, so the stand-in stores them (in the same database) and
answers with Polaris's shapes: ``{"principals": [...]}``, ``{"roles": [...]}``, ``{"grants": [...]}``, 201 on
create/assign, 409 ``... already exists or resolution failed``, 404 ``... not found``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web

from floe_lab.polaris import errors
from floe_lab.polaris.auth import authorize_root, hash_secret
from floe_lab.polaris.mgmt_catalogs import MGMT, grant_key, now_ms
from floe_lab.polaris.state import PRINCIPAL, PolarisState
from floe_lab.polaris.store import Entity

__all__ = ["principal_json", "routes"]

_KIND_LABEL = {"principal": "Principal", "principal_role": "PrincipalRole", "catalog_role": "CatalogRole"}


def principal_json(entity: Entity) -> dict[str, Any]:
    return {
        "name": entity.name,
        "clientId": entity.payload.get("clientId"),
        "properties": entity.payload.get("properties", {}),
        "createTimestamp": entity.create_ts,
        "lastUpdateTimestamp": entity.update_ts,
        "entityVersion": entity.entity_version,
    }


def _role_json(entity: Entity) -> dict[str, Any]:
    out = {
        "name": entity.name,
        "properties": entity.payload.get("properties", {}),
        "createTimestamp": entity.create_ts,
        "lastUpdateTimestamp": entity.update_ts,
        "entityVersion": entity.entity_version,
    }
    if entity.kind == "principal_role":
        out["federated"] = False
    return out


class _Roles:
    def __init__(self, state: PolarisState) -> None:
        self.state = state
        self.store = state.store

    def need(self, kind: str, name: str, scope: str = "") -> Entity:
        entity = self.store.get(kind, name, scope)
        if entity is None:
            if kind == "catalog_role" and self.store.get("catalog", scope) is None:
                raise errors.not_found(f"Catalog not found: {scope}")
            raise errors.not_found(f"{_KIND_LABEL[kind]} {name} not found")
        return entity

    def create(self, kind: str, raw: Any, scope: str = "") -> Entity:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
            raise errors.bad_request(f"Invalid value: {_KIND_LABEL[kind]} name must not be empty")
        if scope:
            self.need("catalog", scope)
        props = {str(k): str(v) for k, v in (raw.get("properties") or {}).items()}
        entity = Entity(kind, scope, raw["name"], {"properties": props}, 1, now_ms(), now_ms())
        if not self.store.insert(entity):
            where = f" in {scope}" if scope else ""
            raise errors.already_exists(
                f"Cannot create {_KIND_LABEL[kind]} {entity.name}{where}. "
                f"{_KIND_LABEL[kind]} already exists or resolution failed"
            )
        return entity

    def create_principal(self, raw: Any) -> dict[str, Any]:
        entity = self.create("principal", raw)
        client_id, secret = secrets.token_hex(8), secrets.token_hex(16)
        payload = {**entity.payload, "clientId": client_id, "secretHash": hash_secret(secret)}
        stored = Entity("principal", "", entity.name, payload, 1, entity.create_ts, entity.update_ts)
        self.store.replace_if_version(stored, 1)
        return {"principal": principal_json(stored), "credentials": {"clientId": client_id, "clientSecret": secret}}

    def delete(self, kind: str, name: str, scope: str = "") -> None:
        self.need(kind, name, scope)
        if kind == "principal" and name == "root":
            raise errors.bad_request("Root principal cannot be dropped")
        self.store.delete(kind, name, scope)
        if kind == "principal":
            self.store.unlink("principal-role", left=name)
        elif kind == "principal_role":
            self.store.unlink("principal-role", right=name)
            self.store.unlink("catalog-role-assignment", left=name)
        else:
            self.store.unlink("grant", left=f"{scope}\x1f{name}")
            self.store.unlink("catalog-role-assignment", right=f"{scope}\x1f{name}")

    def assign(self, kind: str, left: tuple[str, str], right: tuple[str, str], scope: str = "") -> None:
        """Link ``left`` (kind, name) to ``right`` (kind, name, within ``scope``) under link ``kind``."""
        (left_kind, left_name), (right_kind, right_name) = left, right
        self.need(left_kind, left_name)
        self.need(right_kind, right_name, scope)
        self.store.link(kind, left_name, f"{scope}\x1f{right_name}" if scope else right_name)

    def assigned(self, kind: str, left_kind: str, left: str, scope: str = "") -> list[dict[str, Any]]:
        self.need(left_kind, left)
        out = []
        for _, right in self.store.links(kind, left=left):
            right_scope, _, name = right.rpartition("\x1f") if scope else ("", "", right)
            if right_scope == scope:
                entity = self.store.get("catalog_role" if scope else "principal_role", name, scope)
                if entity is not None:
                    out.append(_role_json(entity))
        return out

    def grants(self, catalog: str, role: str) -> list[dict[str, Any]]:
        self.need("catalog_role", role, catalog)
        return [json.loads(grant) for _, grant in self.store.links("grant", left=f"{catalog}\x1f{role}")]

    def grant(self, catalog: str, role: str, raw: Any, revoke: bool) -> None:
        self.need("catalog_role", role, catalog)
        if not isinstance(raw, dict) or not raw.get("privilege") or not raw.get("type"):
            raise errors.bad_request("Invalid value: grant must have a type and a privilege")
        if revoke:
            self.store.unlink("grant", left=f"{catalog}\x1f{role}", right=grant_key(raw))
        else:
            self.store.link("grant", f"{catalog}\x1f{role}", grant_key(raw))


class _Handlers:
    """One small handler per route; each authorizes (service_admin only) and runs its work in a thread."""

    def __init__(self, state: PolarisState) -> None:
        self.state = state
        self.api = _Roles(state)

    async def _run(
        self, request: web.Request, op: str, work: Callable[[dict[str, Any]], Any], status: int = 200
    ) -> web.Response:
        authorize_root(request[PRINCIPAL], op)
        body: Any = {}
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError as exc:
                raise errors.bad_request(f"Invalid JSON: {exc}") from None
        result = await self.state.run(work, body if isinstance(body, dict) else {})
        return web.Response(status=status) if result is None else web.json_response(result, status=status)

    # principals
    async def list_principals(self, r: web.Request) -> web.Response:
        return await self._run(
            r,
            "LIST_PRINCIPALS",
            lambda b: {"principals": [principal_json(e) for e in self.api.store.entities("principal")]},
        )

    async def create_principal(self, r: web.Request) -> web.Response:
        return await self._run(r, "CREATE_PRINCIPAL", lambda b: self.api.create_principal(b.get("principal")), 201)

    async def get_principal(self, r: web.Request) -> web.Response:
        name = r.match_info["principal"]
        return await self._run(r, "GET_PRINCIPAL", lambda b: principal_json(self.api.need("principal", name)))

    async def delete_principal(self, r: web.Request) -> web.Response:
        name = r.match_info["principal"]
        return await self._run(r, "DELETE_PRINCIPAL", lambda b: self.api.delete("principal", name), 204)

    async def principal_roles(self, r: web.Request) -> web.Response:
        name = r.match_info["principal"]
        return await self._run(
            r, "LIST_PRINCIPAL_ROLES_ASSIGNED",
            lambda b: {"roles": self.api.assigned("principal-role", "principal", name)},
        )  # fmt: skip

    async def assign_principal_role(self, r: web.Request) -> web.Response:
        name = r.match_info["principal"]

        def work(b: dict[str, Any]) -> None:
            role = str((b.get("principalRole") or {}).get("name", ""))
            self.api.assign("principal-role", ("principal", name), ("principal_role", role))

        return await self._run(r, "ASSIGN_PRINCIPAL_ROLE", work, 201)

    async def revoke_principal_role(self, r: web.Request) -> web.Response:
        name, role = r.match_info["principal"], r.match_info["role"]

        def work(b: dict[str, Any]) -> None:
            self.api.store.unlink("principal-role", name, role)

        return await self._run(r, "REVOKE_PRINCIPAL_ROLE", work, 204)

    # principal roles
    async def list_principal_roles(self, r: web.Request) -> web.Response:
        return await self._run(
            r,
            "LIST_PRINCIPAL_ROLES",
            lambda b: {"roles": [_role_json(e) for e in self.api.store.entities("principal_role")]},
        )

    async def create_principal_role(self, r: web.Request) -> web.Response:
        return await self._run(
            r,
            "CREATE_PRINCIPAL_ROLE",
            lambda b: _role_json(self.api.create("principal_role", b.get("principalRole"))),
            201,
        )

    async def get_principal_role(self, r: web.Request) -> web.Response:
        name = r.match_info["role"]
        return await self._run(r, "GET_PRINCIPAL_ROLE", lambda b: _role_json(self.api.need("principal_role", name)))

    async def delete_principal_role(self, r: web.Request) -> web.Response:
        name = r.match_info["role"]
        return await self._run(r, "DELETE_PRINCIPAL_ROLE", lambda b: self.api.delete("principal_role", name), 204)

    async def catalog_roles_of(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["role"], r.match_info["catalog"]
        return await self._run(
            r, "LIST_CATALOG_ROLES_FOR_PRINCIPAL_ROLE",
            lambda b: {"roles": self.api.assigned("catalog-role-assignment", "principal_role", role, catalog)},
        )  # fmt: skip

    async def assign_catalog_role(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["role"], r.match_info["catalog"]

        def work(b: dict[str, Any]) -> None:
            target = str((b.get("catalogRole") or {}).get("name", ""))
            self.api.assign("catalog-role-assignment", ("principal_role", role), ("catalog_role", target), catalog)

        return await self._run(r, "ASSIGN_CATALOG_ROLE_TO_PRINCIPAL_ROLE", work, 201)

    async def revoke_catalog_role(self, r: web.Request) -> web.Response:
        role, target = r.match_info["role"], f"{r.match_info['catalog']}\x1f{r.match_info['catalog_role']}"

        def work(b: dict[str, Any]) -> None:
            self.api.store.unlink("catalog-role-assignment", role, target)

        return await self._run(r, "REVOKE_CATALOG_ROLE_FROM_PRINCIPAL_ROLE", work, 204)

    # catalog roles and grants
    async def list_catalog_roles(self, r: web.Request) -> web.Response:
        catalog = r.match_info["catalog"]

        def work(b: dict[str, Any]) -> dict[str, Any]:
            self.api.need("catalog", catalog)
            return {"roles": [_role_json(e) for e in self.api.store.entities("catalog_role", catalog)]}

        return await self._run(r, "LIST_CATALOG_ROLES", work)

    async def create_catalog_role(self, r: web.Request) -> web.Response:
        catalog = r.match_info["catalog"]
        return await self._run(
            r, "CREATE_CATALOG_ROLE",
            lambda b: _role_json(self.api.create("catalog_role", b.get("catalogRole"), catalog)), 201,
        )  # fmt: skip

    async def get_catalog_role(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["role"], r.match_info["catalog"]
        return await self._run(
            r, "GET_CATALOG_ROLE", lambda b: _role_json(self.api.need("catalog_role", role, catalog))
        )

    async def delete_catalog_role(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["role"], r.match_info["catalog"]
        return await self._run(r, "DELETE_CATALOG_ROLE", lambda b: self.api.delete("catalog_role", role, catalog), 204)

    async def list_grants(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["role"], r.match_info["catalog"]
        return await self._run(r, "LIST_GRANTS_FOR_CATALOG_ROLE", lambda b: {"grants": self.api.grants(catalog, role)})

    async def add_grant(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["role"], r.match_info["catalog"]
        return await self._run(r, "ADD_GRANT", lambda b: self.api.grant(catalog, role, b.get("grant"), False), 201)

    async def revoke_grant(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["role"], r.match_info["catalog"]
        return await self._run(r, "REVOKE_GRANT", lambda b: self.api.grant(catalog, role, b.get("grant"), True), 201)


def routes(state: PolarisState) -> list[web.RouteDef]:
    h = _Handlers(state)
    p, pr, cr = MGMT + "/principals", MGMT + "/principal-roles", MGMT + "/catalogs/{catalog}/catalog-roles"
    return [
        web.get(p, h.list_principals, allow_head=False),
        web.post(p, h.create_principal),
        web.get(p + "/{principal}", h.get_principal, allow_head=False),
        web.delete(p + "/{principal}", h.delete_principal),
        web.get(p + "/{principal}/principal-roles", h.principal_roles, allow_head=False),
        web.put(p + "/{principal}/principal-roles", h.assign_principal_role),
        web.delete(p + "/{principal}/principal-roles/{role}", h.revoke_principal_role),
        web.get(pr, h.list_principal_roles, allow_head=False),
        web.post(pr, h.create_principal_role),
        web.get(pr + "/{role}", h.get_principal_role, allow_head=False),
        web.delete(pr + "/{role}", h.delete_principal_role),
        web.get(pr + "/{role}/catalog-roles/{catalog}", h.catalog_roles_of, allow_head=False),
        web.put(pr + "/{role}/catalog-roles/{catalog}", h.assign_catalog_role),
        web.delete(pr + "/{role}/catalog-roles/{catalog}/{catalog_role}", h.revoke_catalog_role),
        web.get(cr, h.list_catalog_roles, allow_head=False),
        web.post(cr, h.create_catalog_role),
        web.get(cr + "/{role}", h.get_catalog_role, allow_head=False),
        web.delete(cr + "/{role}", h.delete_catalog_role),
        web.get(cr + "/{role}/grants", h.list_grants, allow_head=False),
        web.put(cr + "/{role}/grants", h.add_grant),
        web.post(cr + "/{role}/grants", h.revoke_grant),
    ]
