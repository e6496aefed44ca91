"""Who is asking: the cluster admin's static token, ServiceAccount tokens from TokenRequest, and legacy token Secrets.

Why these three: the lab's own callers (its controllers, kubelet, tests, ``lab up``'s kubeconfig) hold the one
admin token the stand-in was started with (``--token`` / ``FLOE_LAB_KUBE_TOKEN``), and it stays what it was — a
member of ``system:masters``, allowed everything, so nothing that worked before RBAC stops working. Least
privilege is proven with what a real workload holds instead: a ServiceAccount token, asked for with
``POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token`` (``kubectl create token``, a kubelet's projected
volume), which authenticates as ``system:serviceaccount:{ns}:{name}`` in the groups ``system:serviceaccounts``,
``system:serviceaccounts:{ns}`` and ``system:authenticated``.

The tokens issued here are **random opaque strings** (``secrets.token_urlsafe``), not JWTs: nothing in the lab
verifies them offline, and an opaque token cannot be mistaken for a real cluster's signed one. Each is bound to the
ServiceAccount's uid and expires after ``spec.expirationSeconds`` (default 3600, at least 600, as the API enforces);
deleting the ServiceAccount (or re-creating it: a new uid) invalidates every token it had. A Secret of type
``kubernetes.io/service-account-token`` naming the account (``kubernetes.io/service-account.name``) whose
``data.token`` is set authenticates as that account too, while the account exists with the uid the Secret names
(if it names one) — the legacy, long-lived form; the stand-in does not fill ``data.token`` itself.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from dataclasses import dataclass, field

from floe_lab.kube.store import KubeStore

__all__ = ["ADMIN", "Authenticator", "IssuedToken", "UserInfo", "service_account_user"]

DEFAULT_EXPIRATION_S = 3600
MIN_EXPIRATION_S = 600
_SA_TOKEN_TYPE = "kubernetes.io/service-account-token"  # noqa: S105 - a Secret type, not a secret
_SA_NAME = "kubernetes.io/service-account.name"
_SA_UID = "kubernetes.io/service-account.uid"


@dataclass(frozen=True)
class UserInfo:
    """An authenticated identity, as the authorizer and ``kubectl auth whoami`` see it."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_master(self) -> bool:
        return "system:masters" in self.groups


ADMIN = UserInfo("kubernetes-admin", ("system:masters", "system:authenticated"))


def service_account_user(namespace: str, name: str, uid: str = "") -> UserInfo:
    groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated")
    return UserInfo(f"system:serviceaccount:{namespace}:{name}", groups, uid)


@dataclass(frozen=True)
class IssuedToken:
    """A token TokenRequest handed out: whose it is (the account and its uid then) and until when."""

    namespace: str
    service_account: str
    sa_uid: str
    expires_at: float  # time.time()


class Authenticator:
    """Maps a bearer token to a :class:`UserInfo`; issues ServiceAccount tokens (one event loop: no lock)."""

    def __init__(self, admin_token: str | None) -> None:
        self.admin_token = admin_token
        self._issued: dict[str, IssuedToken] = {}

    @property
    def enforcing(self) -> bool:
        """Without an admin token the stand-in runs open (as before RBAC): unknown callers act as the admin."""
        return self.admin_token is not None

    def issue(self, namespace: str, service_account: str, sa_uid: str, seconds: int | None) -> tuple[str, float]:
        """A new token for the account and its expiry (epoch seconds)."""
        lifetime = max(seconds if seconds is not None else DEFAULT_EXPIRATION_S, MIN_EXPIRATION_S)
        token = secrets.token_urlsafe(32)
        expires = time.time() + lifetime
        self._issued[token] = IssuedToken(namespace, service_account, sa_uid, expires)
        return token, expires

    def authenticate(self, token: str, store: KubeStore) -> UserInfo | None:
        """The identity behind ``token``, or None when it is not (or no longer) valid."""
        if self.admin_token is not None and hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return ADMIN
        issued = self._issued.get(token)
        if issued is not None:
            if issued.expires_at < time.time():
                del self._issued[token]
                return None
            return self._account(store, issued.namespace, issued.service_account, issued.sa_uid)
        return self._legacy(token, store)

    @staticmethod
    def _account(store: KubeStore, namespace: str, name: str, uid: str) -> UserInfo | None:
        account = store.find("serviceaccounts", name, namespace)
        if account is None or (uid and account["metadata"].get("uid") != uid):
            return None  # deleted (or deleted and made again): its tokens went with it
        return service_account_user(namespace, name, str(account["metadata"].get("uid", "")))

    def _legacy(self, token: str, store: KubeStore) -> UserInfo | None:
        for secret in store.list("secrets", field_selector=f"type={_SA_TOKEN_TYPE}"):
            encoded = (secret.get("data") or {}).get("token")
            if not isinstance(encoded, str):
                continue
            try:
                stored = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                continue
            if stored and hmac.compare_digest(stored, token.encode()):
                meta = secret["metadata"]
                annotations = meta.get("annotations") or {}
                name = str(annotations.get(_SA_NAME) or "")
                if not name:
                    return None
                return self._account(store, str(meta.get("namespace")), name, str(annotations.get(_SA_UID) or ""))
        return None
