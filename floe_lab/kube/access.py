"""Authentication and authorization of every request, before any handler: 401 for no identity, 403 for no grant.

Why a middleware in front of routing: the real apiserver's filter chain authenticates, resolves the request's
attributes from its URL (:mod:`.requestinfo`) and authorizes (:mod:`.rbac`) before it looks for the resource, so a
caller without the grant learns nothing from a 404. ``/healthz``, ``/livez``, ``/readyz`` and ``/version`` answer
without credentials (public info); anything else without a valid bearer token is 401, and a *wrong* token is 401
everywhere. With no admin token configured the stand-in stays open as it always was: a request without a valid
ServiceAccount token acts as the admin. The identity and attributes are left on the request for the per-identity
record (:mod:`.counting`) and the reviews (:mod:`.reviews`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from floe_lab.kube import errors
from floe_lab.kube.authn import ADMIN, Authenticator, UserInfo
from floe_lab.kube.counting import IDENTITY
from floe_lab.kube.httputil import STORE
from floe_lab.kube.rbac import authorize
from floe_lab.kube.requestinfo import request_info

__all__ = ["AUTHN", "USER", "access_middleware"]

AUTHN: web.AppKey[Authenticator] = web.AppKey("floe_kube_authenticator", Authenticator)
USER: web.RequestKey[UserInfo] = web.RequestKey("floe_kube_user", UserInfo)
_PUBLIC = frozenset({"/healthz", "/livez", "/readyz", "/version"})
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _identify(request: web.Request) -> UserInfo | None:
    """The caller, or None for an anonymous request to a public path; 401 when there is no valid identity."""
    authn = request.app[AUTHN]
    header = request.headers.get("Authorization")
    if header is None:
        if not authn.enforcing:
            return ADMIN
        if request.path.rstrip("/") in _PUBLIC:
            return None
        raise errors.unauthorized()
    scheme, _, presented = header.partition(" ")
    user = authn.authenticate(presented.strip(), request.app[STORE]) if scheme.lower() == "bearer" else None
    if user is None:
        if not authn.enforcing:
            return ADMIN
        raise errors.unauthorized()
    return user


@web.middleware
async def access_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    user = _identify(request)
    if user is None:
        return await handler(request)
    info = request_info(request.method, request.path, {k: request.query[k] for k in request.query})
    request[USER] = user
    request[IDENTITY] = (user.name, info)
    decision = authorize(request.app[STORE], user, info)
    if not decision.allowed:
        raise errors.forbidden(user.name, info, decision.reason)
    return await handler(request)
