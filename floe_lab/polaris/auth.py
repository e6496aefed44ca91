"""OAuth2 client-credentials tokens and a coarse version of Polaris's RBAC.

Why: a wrong client secret, a scope naming a principal role the principal does not have, or a catalog role
without grants are real Floe failures (the upstream init job wires ``demo_data_admin`` to ``service_admin``),
and each shows up with Polaris's own answer: 401 ``unauthorized_client`` from the token endpoint, or 403
``Principal '...' with activated PrincipalRoles '[...]' ... is not authorized for op ...``. The model is
Polaris's: a principal holds principal roles; a token activates some of them (``PRINCIPAL_ROLE:ALL`` or
``PRINCIPAL_ROLE:<name>``); ``service_admin`` administers everything; other roles reach a catalog through catalog
roles that carry grants. Privileges are checked coarsely (any grant reads; a non-read-only grant writes).

Tokens are opaque and live in the server's memory, like Polaris's JWTs signed with a key made at startup: a
restart invalidates them, entities survive. Secrets are stored hashed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from floe_lab.polaris import errors
from floe_lab.polaris.errors import OAuthError
from floe_lab.polaris.store import Entity, EntityStore

__all__ = [
    "CATALOG_ADMIN",
    "ROOT",
    "SERVICE_ADMIN",
    "Principal",
    "TokenBroker",
    "authorize_catalog",
    "authorize_root",
    "hash_secret",
]

ROOT, SERVICE_ADMIN, CATALOG_ADMIN = "root", "service_admin", "catalog_admin"
TOKEN_TTL_SECONDS = 3600
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a type URN
_READ_ONLY = frozenset(
    {
        "CATALOG_READ_PROPERTIES", "NAMESPACE_LIST", "NAMESPACE_READ_PROPERTIES", "TABLE_LIST",
        "TABLE_READ_PROPERTIES", "TABLE_READ_DATA", "VIEW_LIST", "VIEW_READ_PROPERTIES",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Principal:
    """An authenticated caller and the principal roles its token activated."""

    name: str
    roles: frozenset[str]

    def denied(self, op: str) -> errors.PolarisError:
        roles = ", ".join(sorted(self.roles))
        return errors.forbidden(
            f"Principal '{self.name}' with activated PrincipalRoles '[{roles}]' and activated grants via "
            f"'[{roles}]' is not authorized for op {op}"
        )


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenBroker:
    """Issues and checks bearer tokens; ``issue`` does blocking store reads."""

    def __init__(self, store: EntityStore, ttl_seconds: int = TOKEN_TTL_SECONDS) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[Principal, float]] = {}

    def issue(self, form: Mapping[str, str], basic: tuple[str, str] | None) -> dict[str, object]:
        """``POST /v1/oauth/tokens`` with ``grant_type=client_credentials``."""
        if form.get("grant_type") != "client_credentials":
            raise OAuthError("unsupported_grant_type")
        client_id, client_secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if not client_id:
            raise OAuthError("invalid_client")
        requested = _parse_scope(form.get("scope", ""))
        principal = self._principal_for(client_id, client_secret)
        assigned = {right for _, right in self._store.links("principal-role", left=principal.name)}
        active = assigned if "ALL" in requested else assigned & requested
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._tokens = {k: v for k, v in self._tokens.items() if v[1] > now}
            self._tokens[token] = (Principal(principal.name, frozenset(active)), now + self._ttl)
        return {
            "access_token": token,
            "token_type": "bearer",
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "expires_in": self._ttl,
        }

    def authenticate(self, authorization: str | None) -> Principal | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        token = authorization[7:].strip()
        with self._lock:
            found = self._tokens.get(token)
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0]

    def _principal_for(self, client_id: str, client_secret: str) -> Entity:
        for entity in self._store.entities("principal"):
            if entity.payload.get("clientId") == client_id:
                offered = hash_secret(client_secret)
                # after a rotation the previous secret stays valid as the secondary one, as in Polaris
                for stored in (entity.payload.get("secretHash", ""), entity.payload.get("secondaryHash", "")):
                    if stored and secrets.compare_digest(stored, offered):
                        return entity
                break
        raise OAuthError("unauthorized_client")


def _parse_scope(scope: str) -> set[str]:
    parts = scope.split()
    if not parts or any(not p.startswith("PRINCIPAL_ROLE:") or p == "PRINCIPAL_ROLE:" for p in parts):
        raise OAuthError("invalid_scope")
    return {p.removeprefix("PRINCIPAL_ROLE:") for p in parts}


def authorize_root(principal: Principal, op: str) -> None:
    """Management operations: only a token with ``service_admin`` active."""
    if SERVICE_ADMIN not in principal.roles:
        raise principal.denied(op)


def authorize_catalog(store: EntityStore, principal: Principal, catalog: str, op: str, *, write: bool) -> None:
    """Catalog content operations: ``service_admin``, or a catalog role in ``catalog`` with a fitting grant."""
    if SERVICE_ADMIN in principal.roles:
        return
    for role in principal.roles:
        for _, target in store.links("catalog-role-assignment", left=role):
            catalog_name, _, catalog_role = target.partition("\x1f")
            if catalog_name != catalog:
                continue
            privileges = {str(json.loads(grant).get("privilege")) for _, grant in store.links("grant", left=target)}
            if privileges and (not write or privileges - _READ_ONLY) and catalog_role:
                return
    raise principal.denied(op)
