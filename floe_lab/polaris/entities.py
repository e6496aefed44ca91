"""Polaris's principals and roles as stored entities, with the management API's JSON shapes and answers.

Why one layer under the two route modules: every principal, principal-role and catalog-role operation resolves
its entities the same way and fails with the same Polaris texts — ``TopLevelEntity of type CATALOG does not
exist: x`` when a catalog is missing, ``CatalogRole does not exist: r`` for a missing catalog role, ``Entity x
not found when trying to assign ...`` for a role assignment or revocation naming a missing entity, and 400
``GRANT_NOT_FOUND`` for revoking something that was never granted (``PolarisServiceImpl.toResponse``). Updates
carry ``currentEntityVersion``; a stale one is 409 ``CommitConflictException``. All methods block (SQL).
"""

from __future__ import annotations

import json
from typing import Any

from floe_lab.polaris import errors, validate
from floe_lab.polaris.mgmt_catalogs import grant_key, now_ms
from floe_lab.polaris.store import Entity, EntityStore

__all__ = ["LABEL", "EntityService", "principal_json", "role_json"]

LABEL = {"principal": "Principal", "principal_role": "PrincipalRole", "catalog_role": "CatalogRole"}
_KIND_TYPE = {"principal": "PRINCIPAL", "principal_role": "PRINCIPAL_ROLE", "catalog": "CATALOG"}


def principal_json(entity: Entity) -> dict[str, Any]:
    return {
        "name": entity.name,
        "clientId": entity.payload.get("clientId"),
        "properties": entity.payload.get("properties", {}),
        "createTimestamp": entity.create_ts,
        "lastUpdateTimestamp": entity.update_ts,
        "entityVersion": entity.entity_version,
    }


def role_json(entity: Entity) -> dict[str, Any]:
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


def grant_not_found() -> errors.PolarisError:
    return errors.PolarisError(400, "GRANT_NOT_FOUND", "Operation failed: GRANT_NOT_FOUND")


class EntityService:
    """Lookups, creation, updates and links of principals and roles, with Polaris's failures."""

    def __init__(self, store: EntityStore) -> None:
        self.store = store

    def top_level(self, kind: str, name: str) -> Entity:
        """A catalog, principal or principal role that an operation targets directly."""
        entity = self.store.get(kind, name)
        if entity is None:
            raise errors.not_found(f"TopLevelEntity of type {_KIND_TYPE[kind]} does not exist: {name}")
        return entity

    def need(self, kind: str, name: str, scope: str = "") -> Entity:
        """A principal, principal role, or catalog role (in catalog ``scope``) named by a path."""
        if kind == "catalog_role":
            entity = self.store.get(kind, name, scope) if self.store.get("catalog", scope) is not None else None
            if entity is None:
                raise errors.not_found(f"CatalogRole does not exist: {name}")
            return entity
        entity = self.store.get(kind, name, scope)
        if entity is None:
            raise errors.not_found(f"{LABEL[kind]} {name} not found")
        return entity

    def create(self, kind: str, raw: Any, where: str, scope: str = "") -> Entity:
        """``where`` is the request path Bean Validation prints (``createPrincipal.request.principal``)."""
        if raw is None:
            raise errors.PolarisError(400, "ConstraintViolationException", f"Invalid value: {where}: must not be null")
        if not isinstance(raw, dict):
            raise validate.mismatched(f"org.apache.polaris.core.admin.model.{LABEL[kind]}", raw)
        name = validate.entity_name(raw.get("name"), f"{where}.name")
        props = validate.string_map(raw.get("properties"))
        if scope:
            self.top_level("catalog", scope)
        entity = Entity(kind, scope, name, {"properties": props}, 1, now_ms(), now_ms())
        if not self.store.insert(entity):
            where_in = f" in {scope}" if scope else ""
            raise errors.already_exists(
                f"Cannot create {LABEL[kind]} {name}{where_in}. {LABEL[kind]} already exists or resolution failed"
            )
        return entity

    def update(self, kind: str, name: str, body: dict[str, Any], scope: str = "") -> Entity:
        """``PUT`` with ``{currentEntityVersion, properties}``: properties replaced, version + 1."""
        expected = validate.int_field(body, "currentEntityVersion")
        props = validate.string_map(body.get("properties"))
        current = self.need(kind, name, scope) if kind == "catalog_role" else self.top_level(kind, name)
        if expected != current.entity_version:
            raise errors.commit_conflict(LABEL[kind], current.entity_version, expected)
        payload = {**current.payload, "properties": props}
        updated = Entity(kind, scope, name, payload, current.entity_version + 1, current.create_ts, now_ms())
        if not self.store.replace_if_version(updated, current.entity_version):
            raise errors.PolarisError(
                409, "CommitConflictException", f"Concurrent modification on {LABEL[kind]} '{name}'; retry later"
            )
        return updated

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

    # --- role assignments ---------------------------------------------------------------------------------------
    def _assignment_parties(self, role: str, grantee: str, catalog: str = "") -> tuple[str, str]:
        """The (left, right) link keys of assigning ``role`` (a catalog role when ``catalog``) to ``grantee``."""
        if catalog:
            what = f"{catalog}.{role}"
            missing = (
                catalog
                if self.store.get("catalog", catalog) is None
                else role
                if self.store.get("catalog_role", role, catalog) is None
                else grantee
                if self.store.get("principal_role", grantee) is None
                else None
            )
            right = f"{catalog}\x1f{role}"
        else:
            what = role
            missing = (
                role
                if self.store.get("principal_role", role) is None
                else grantee
                if self.store.get("principal", grantee) is None
                else None
            )
            right = role
        if missing is not None:
            raise errors.not_found(f"Entity {missing} not found when trying to assign {what} to {grantee}")
        return grantee, right

    def assign(self, role: str, grantee: str, catalog: str = "") -> None:
        left, right = self._assignment_parties(role, grantee, catalog)
        self.store.link("catalog-role-assignment" if catalog else "principal-role", left, right)

    def revoke(self, role: str, grantee: str, catalog: str = "") -> None:
        left, right = self._assignment_parties(role, grantee, catalog)
        if not self.store.unlink("catalog-role-assignment" if catalog else "principal-role", left, right):
            raise grant_not_found()

    def roles_of(self, kind: str, grantee_kind: str, grantee: str, catalog: str = "") -> list[dict[str, Any]]:
        """Principal roles of a principal, or catalog roles (in ``catalog``) of a principal role."""
        self.top_level(grantee_kind, grantee)
        if catalog:
            self.top_level("catalog", catalog)
        out = []
        for _, right in self.store.links(kind, left=grantee):
            right_scope, _, name = right.rpartition("\x1f") if catalog else ("", "", right)
            if right_scope == catalog:
                entity = self.store.get("catalog_role" if catalog else "principal_role", name, catalog)
                if entity is not None:
                    out.append(role_json(entity))
        return out

    def principals_with(self, role: str) -> list[dict[str, Any]]:
        """``listAssigneePrincipalsForPrincipalRole``."""
        self.top_level("principal_role", role)
        found = (self.store.get("principal", left) for left, _ in self.store.links("principal-role", right=role))
        return [principal_json(e) for e in found if e is not None]

    def principal_roles_with(self, catalog: str, role: str) -> list[dict[str, Any]]:
        """``listAssigneePrincipalRolesForCatalogRole``."""
        self.need("catalog_role", role, catalog)
        links = self.store.links("catalog-role-assignment", right=f"{catalog}\x1f{role}")
        found = (self.store.get("principal_role", left) for left, _ in links)
        return [role_json(e) for e in found if e is not None]

    # --- grants -------------------------------------------------------------------------------------------------
    def _grant_target(self, catalog: str, role: str) -> str:
        if self.store.get("catalog", catalog) is None:
            raise errors.not_found(f"Catalog not found: {catalog}")
        if self.store.get("catalog_role", role, catalog) is None:
            raise errors.not_found(f"CatalogRole not found: {catalog}.{role}")
        return f"{catalog}\x1f{role}"

    def grants(self, catalog: str, role: str) -> list[dict[str, Any]]:
        self.need("catalog_role", role, catalog)
        return [json.loads(grant) for _, grant in self.store.links("grant", left=f"{catalog}\x1f{role}")]

    def grant(self, catalog: str, role: str, raw: Any, revoke: bool) -> None:
        if raw is not None and not isinstance(raw, dict):
            raise validate.mismatched("org.apache.polaris.core.admin.model.GrantResource", raw)
        if not raw or not isinstance(raw.get("privilege"), str) or not isinstance(raw.get("type"), str):
            raise errors.bad_request("Invalid value: grant must have a type and a privilege")
        target = self._grant_target(catalog, role)
        if revoke:
            if not self.store.unlink("grant", left=target, right=grant_key(raw)):
                raise grant_not_found()
        else:
            self.store.link("grant", target, grant_key(raw))
