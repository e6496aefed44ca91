"""Polaris management API for principals: ``/api/management/v1/principals[/{principalName}[/...]]``.

Why: an app's principal (its client id and secret) decides whether a Floe job can get a token, and heal may
have to create one, give it a principal role, or rotate a leaked secret. Shapes are the spec's:
``PrincipalWithCredentials`` on create/rotate/reset (the only answers carrying a secret), ``{"principals": [...]}``
and ``{"roles": [...]}`` lists, ``UpdatePrincipalRequest`` with ``currentEntityVersion``. Rotation keeps the old
secret valid as the secondary one (Polaris's ``rotatePrincipalSecrets``); a reset replaces both, optionally with
a caller-chosen client id and secret (409 ``Client ID already in use`` when another principal has it).

:class:`Handlers` is also the base of :mod:`mgmt_roles`: every handler validates its path names (Bean Validation,
400), reads a typed body, authorizes (``service_admin``) and runs its work in a worker thread.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web

from floe_lab.polaris import errors, validate
from floe_lab.polaris.auth import authorize_root, hash_secret
from floe_lab.polaris.entities import EntityService, principal_json
from floe_lab.polaris.mgmt_catalogs import MGMT, now_ms, read_body
from floe_lab.polaris.state import PRINCIPAL, PolarisState
from floe_lab.polaris.store import Entity

__all__ = ["Handlers", "routes"]

_Work = Callable[[dict[str, Any]], Any]


class Handlers:
    """Shared plumbing of the principal and role handlers."""

    def __init__(self, state: PolarisState) -> None:
        self.state = state
        self.api = EntityService(state.store)

    async def run(
        self, request: web.Request, operation: str, op: str, work: _Work, *, status: int = 200, body: bool = False
    ) -> web.Response:
        """``operation`` is the spec's operationId (for validation messages), ``op`` Polaris's privilege name."""
        for key, value in request.match_info.items():
            validate.entity_name(value, f"{operation}.{key}")
        payload = await read_body(request) if body or request.can_read_body else {}
        authorize_root(request[PRINCIPAL], op)
        result = await self.state.run(work, payload)
        return web.Response(status=status) if result is None else web.json_response(result, status=status)


class _Principals(Handlers):
    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        entity = self.api.create("principal", body.get("principal"), "createPrincipal.request.principal")
        client_id, secret = secrets.token_hex(8), secrets.token_hex(16)
        return self._with_credentials(entity, client_id, secret, keep_secondary=False)

    def _with_credentials(self, entity: Entity, client_id: str, secret: str, *, keep_secondary: bool) -> dict[str, Any]:
        """New main secret; the old main becomes the secondary on rotation, is dropped otherwise. Only a new
        client id changes the principal entity itself (and so its version)."""
        payload = {**entity.payload, "clientId": client_id, "secretHash": hash_secret(secret)}
        payload.pop("secondaryHash", None)
        if keep_secondary and entity.payload.get("secretHash"):
            payload["secondaryHash"] = entity.payload["secretHash"]
        previous_id = entity.payload.get("clientId")
        version = entity.entity_version + (1 if previous_id is not None and previous_id != client_id else 0)
        stored = Entity("principal", "", entity.name, payload, version, entity.create_ts, now_ms())
        if not self.state.store.replace_if_version(stored, entity.entity_version):
            raise errors.PolarisError(
                409, "CommitConflictException", f"Concurrent modification on Principal '{entity.name}'; retry later"
            )
        return {"principal": principal_json(stored), "credentials": {"clientId": client_id, "clientSecret": secret}}

    def _rotate(self, name: str) -> dict[str, Any]:
        entity = self.api.top_level("principal", name)
        client_id = str(entity.payload.get("clientId"))
        return self._with_credentials(entity, client_id, secrets.token_hex(16), keep_secondary=True)

    def _reset(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        client_id, secret = body.get("clientId"), body.get("clientSecret")
        for value in (client_id, secret):
            if value is not None and not isinstance(value, str):
                raise validate.mismatched("java.lang.String", value)
        entity = self.api.top_level("principal", name)
        if client_id is not None:
            for other in self.state.store.entities("principal"):
                if other.name != name and other.payload.get("clientId") == client_id:
                    raise errors.already_exists(f"Client ID already in use: {client_id}")
        new_id = client_id or str(entity.payload.get("clientId"))
        return self._with_credentials(entity, new_id, secret or secrets.token_hex(16), keep_secondary=False)

    # --- handlers -----------------------------------------------------------------------------------------------
    async def list(self, r: web.Request) -> web.Response:
        return await self.run(
            r, "listPrincipals", "LIST_PRINCIPALS",
            lambda b: {"principals": [principal_json(e) for e in self.api.store.entities("principal")]},
        )  # fmt: skip

    async def create(self, r: web.Request) -> web.Response:
        return await self.run(r, "createPrincipal", "CREATE_PRINCIPAL", self._create, status=201, body=True)

    async def get(self, r: web.Request) -> web.Response:
        name = r.match_info["principalName"]
        return await self.run(
            r, "getPrincipal", "GET_PRINCIPAL", lambda b: principal_json(self.api.need("principal", name))
        )

    async def update(self, r: web.Request) -> web.Response:
        name = r.match_info["principalName"]
        return await self.run(
            r, "updatePrincipal", "UPDATE_PRINCIPAL",
            lambda b: principal_json(self.api.update("principal", name, b)), body=True,
        )  # fmt: skip

    async def delete(self, r: web.Request) -> web.Response:
        name = r.match_info["principalName"]
        return await self.run(
            r, "deletePrincipal", "DELETE_PRINCIPAL", lambda b: self.api.delete("principal", name), status=204
        )

    async def rotate(self, r: web.Request) -> web.Response:
        name = r.match_info["principalName"]
        return await self.run(r, "rotateCredentials", "ROTATE_CREDENTIALS", lambda b: self._rotate(name))

    async def reset(self, r: web.Request) -> web.Response:
        name = r.match_info["principalName"]
        return await self.run(r, "resetCredentials", "RESET_CREDENTIALS", lambda b: self._reset(name, b))

    async def roles(self, r: web.Request) -> web.Response:
        name = r.match_info["principalName"]
        return await self.run(
            r, "listPrincipalRolesAssigned", "LIST_PRINCIPAL_ROLES_ASSIGNED",
            lambda b: {"roles": self.api.roles_of("principal-role", "principal", name)},
        )  # fmt: skip

    async def assign(self, r: web.Request) -> web.Response:
        name = r.match_info["principalName"]

        def work(b: dict[str, Any]) -> None:
            role = validate.object_field(b, "principalRole", "org.apache.polaris.core.admin.model.PrincipalRole")
            where = "assignPrincipalRole.request.principalRole.name"
            self.api.assign(validate.entity_name((role or {}).get("name"), where), name)

        return await self.run(r, "assignPrincipalRole", "ASSIGN_PRINCIPAL_ROLE", work, status=201, body=True)

    async def revoke(self, r: web.Request) -> web.Response:
        name, role = r.match_info["principalName"], r.match_info["principalRoleName"]
        return await self.run(
            r, "revokePrincipalRole", "REVOKE_PRINCIPAL_ROLE", lambda b: self.api.revoke(role, name), status=204
        )


def routes(state: PolarisState) -> list[web.RouteDef]:
    h = _Principals(state)
    p = MGMT + "/principals"
    one = p + "/{principalName}"
    return [
        web.get(p, h.list, allow_head=False),
        web.post(p, h.create),
        web.get(one, h.get, allow_head=False),
        web.put(one, h.update),
        web.delete(one, h.delete),
        web.post(one + "/rotate", h.rotate),
        web.post(one + "/reset", h.reset),
        web.get(one + "/principal-roles", h.roles, allow_head=False),
        web.put(one + "/principal-roles", h.assign),
        web.delete(one + "/principal-roles/{principalRoleName}", h.revoke),
    ]
