"""Polaris management API for principal roles, catalog roles and grants.

Why: Floe's ``polaris-init`` job creates catalog role ``demo_data_admin``, grants it privileges and assigns it
to principal role ``service_admin``; heal does the same when they are missing. Those wirings decide whether a
token can touch a catalog, so the stand-in stores them (in the same database) and answers with Polaris's shapes:
``{"roles": [...]}``, ``{"grants": [...]}``, ``{"principals": [...]}`` (who holds a principal role), 201 on
create/assign/grant, 204 on revoke, 409 ``... already exists or resolution failed``, 404 for a missing catalog
or role (also when *revoking* one: a typo is not a success), 400 ``GRANT_NOT_FOUND`` for revoking what was never
granted, and ``currentEntityVersion`` updates (409 ``CommitConflictException`` when stale).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from floe_lab.polaris import validate
from floe_lab.polaris.entities import role_json
from floe_lab.polaris.mgmt_catalogs import MGMT
from floe_lab.polaris.mgmt_principals import Handlers
from floe_lab.polaris.state import PolarisState

__all__ = ["routes"]

_ROLE_MODEL = "org.apache.polaris.core.admin.model.CatalogRole"


class _Roles(Handlers):
    # principal roles
    async def list_principal_roles(self, r: web.Request) -> web.Response:
        return await self.run(
            r, "listPrincipalRoles", "LIST_PRINCIPAL_ROLES",
            lambda b: {"roles": [role_json(e) for e in self.api.store.entities("principal_role")]},
        )  # fmt: skip

    async def create_principal_role(self, r: web.Request) -> web.Response:
        where = "createPrincipalRole.request.principalRole"
        return await self.run(
            r, "createPrincipalRole", "CREATE_PRINCIPAL_ROLE",
            lambda b: role_json(self.api.create("principal_role", b.get("principalRole"), where)),
            status=201, body=True,
        )  # fmt: skip

    async def get_principal_role(self, r: web.Request) -> web.Response:
        name = r.match_info["principalRoleName"]
        return await self.run(
            r, "getPrincipalRole", "GET_PRINCIPAL_ROLE", lambda b: role_json(self.api.need("principal_role", name))
        )

    async def update_principal_role(self, r: web.Request) -> web.Response:
        name = r.match_info["principalRoleName"]
        return await self.run(
            r, "updatePrincipalRole", "UPDATE_PRINCIPAL_ROLE",
            lambda b: role_json(self.api.update("principal_role", name, b)), body=True,
        )  # fmt: skip

    async def delete_principal_role(self, r: web.Request) -> web.Response:
        name = r.match_info["principalRoleName"]
        return await self.run(
            r,
            "deletePrincipalRole",
            "DELETE_PRINCIPAL_ROLE",
            lambda b: self.api.delete("principal_role", name),
            status=204,
        )

    async def principals_of(self, r: web.Request) -> web.Response:
        name = r.match_info["principalRoleName"]
        return await self.run(
            r, "listAssigneePrincipalsForPrincipalRole", "LIST_ASSIGNEE_PRINCIPALS_FOR_PRINCIPAL_ROLE",
            lambda b: {"principals": self.api.principals_with(name)},
        )  # fmt: skip

    async def catalog_roles_of(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["principalRoleName"], r.match_info["catalogName"]
        return await self.run(
            r, "listCatalogRolesForPrincipalRole", "LIST_CATALOG_ROLES_FOR_PRINCIPAL_ROLE",
            lambda b: {"roles": self.api.roles_of("catalog-role-assignment", "principal_role", role, catalog)},
        )  # fmt: skip

    async def assign_catalog_role(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["principalRoleName"], r.match_info["catalogName"]

        def work(b: dict[str, Any]) -> None:
            target = validate.object_field(b, "catalogRole", _ROLE_MODEL)
            where = "assignCatalogRoleToPrincipalRole.request.catalogRole.name"
            self.api.assign(validate.entity_name((target or {}).get("name"), where), role, catalog)

        return await self.run(
            r, "assignCatalogRoleToPrincipalRole", "ASSIGN_CATALOG_ROLE_TO_PRINCIPAL_ROLE", work, status=201, body=True
        )

    async def revoke_catalog_role(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["principalRoleName"], r.match_info["catalogName"]
        target = r.match_info["catalogRoleName"]
        return await self.run(
            r, "revokeCatalogRoleFromPrincipalRole", "REVOKE_CATALOG_ROLE_FROM_PRINCIPAL_ROLE",
            lambda b: self.api.revoke(target, role, catalog), status=204,
        )  # fmt: skip

    # catalog roles and grants
    async def list_catalog_roles(self, r: web.Request) -> web.Response:
        catalog = r.match_info["catalogName"]

        def work(b: dict[str, Any]) -> dict[str, Any]:
            self.api.top_level("catalog", catalog)
            return {"roles": [role_json(e) for e in self.api.store.entities("catalog_role", catalog)]}

        return await self.run(r, "listCatalogRoles", "LIST_CATALOG_ROLES", work)

    async def create_catalog_role(self, r: web.Request) -> web.Response:
        catalog = r.match_info["catalogName"]
        where = "createCatalogRole.request.catalogRole"
        return await self.run(
            r, "createCatalogRole", "CREATE_CATALOG_ROLE",
            lambda b: role_json(self.api.create("catalog_role", b.get("catalogRole"), where, catalog)), status=201,
            body=True,
        )  # fmt: skip

    async def get_catalog_role(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["catalogRoleName"], r.match_info["catalogName"]
        return await self.run(
            r, "getCatalogRole", "GET_CATALOG_ROLE", lambda b: role_json(self.api.need("catalog_role", role, catalog))
        )

    async def update_catalog_role(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["catalogRoleName"], r.match_info["catalogName"]
        return await self.run(
            r, "updateCatalogRole", "UPDATE_CATALOG_ROLE",
            lambda b: role_json(self.api.update("catalog_role", role, b, catalog)), body=True,
        )  # fmt: skip

    async def delete_catalog_role(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["catalogRoleName"], r.match_info["catalogName"]
        return await self.run(
            r,
            "deleteCatalogRole",
            "DELETE_CATALOG_ROLE",
            lambda b: self.api.delete("catalog_role", role, catalog),
            status=204,
        )

    async def principal_roles_of(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["catalogRoleName"], r.match_info["catalogName"]
        return await self.run(
            r, "listAssigneePrincipalRolesForCatalogRole", "LIST_ASSIGNEE_PRINCIPAL_ROLES_FOR_CATALOG_ROLE",
            lambda b: {"roles": self.api.principal_roles_with(catalog, role)},
        )  # fmt: skip

    async def list_grants(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["catalogRoleName"], r.match_info["catalogName"]
        return await self.run(
            r, "listGrantsForCatalogRole", "LIST_GRANTS_FOR_CATALOG_ROLE",
            lambda b: {"grants": self.api.grants(catalog, role)},
        )  # fmt: skip

    async def add_grant(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["catalogRoleName"], r.match_info["catalogName"]
        return await self.run(
            r, "addGrantToCatalogRole", "ADD_GRANT",
            lambda b: self.api.grant(catalog, role, b.get("grant"), False), status=201, body=True,
        )  # fmt: skip

    async def revoke_grant(self, r: web.Request) -> web.Response:
        role, catalog = r.match_info["catalogRoleName"], r.match_info["catalogName"]
        return await self.run(
            r, "revokeGrantFromCatalogRole", "REVOKE_GRANT",
            lambda b: self.api.grant(catalog, role, b.get("grant"), True), status=201, body=True,
        )  # fmt: skip


def routes(state: PolarisState) -> list[web.RouteDef]:
    h = _Roles(state)
    pr = MGMT + "/principal-roles/{principalRoleName}"
    cr = MGMT + "/catalogs/{catalogName}/catalog-roles"
    return [
        web.get(MGMT + "/principal-roles", h.list_principal_roles, allow_head=False),
        web.post(MGMT + "/principal-roles", h.create_principal_role),
        web.get(pr, h.get_principal_role, allow_head=False),
        web.put(pr, h.update_principal_role),
        web.delete(pr, h.delete_principal_role),
        web.get(pr + "/principals", h.principals_of, allow_head=False),
        web.get(pr + "/catalog-roles/{catalogName}", h.catalog_roles_of, allow_head=False),
        web.put(pr + "/catalog-roles/{catalogName}", h.assign_catalog_role),
        web.delete(pr + "/catalog-roles/{catalogName}/{catalogRoleName}", h.revoke_catalog_role),
        web.get(cr, h.list_catalog_roles, allow_head=False),
        web.post(cr, h.create_catalog_role),
        web.get(cr + "/{catalogRoleName}", h.get_catalog_role, allow_head=False),
        web.put(cr + "/{catalogRoleName}", h.update_catalog_role),
        web.delete(cr + "/{catalogRoleName}", h.delete_catalog_role),
        web.get(cr + "/{catalogRoleName}/principal-roles", h.principal_roles_of, allow_head=False),
        web.get(cr + "/{catalogRoleName}/grants", h.list_grants, allow_head=False),
        web.put(cr + "/{catalogRoleName}/grants", h.add_grant),
        web.post(cr + "/{catalogRoleName}/grants", h.revoke_grant),
    ]
