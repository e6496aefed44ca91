"""The aiohttp application: routing, bearer-token auth, error rendering, and running it on loopback.

Why one catch-all route with our own path parser: the apiserver's URL space is regular
(``/api/v1[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]``, the same under ``/apis/{group}/{version}``,
plus the legacy ``/watch/`` prefix), and parsing it ourselves means every path we do not serve gets the
apiserver's own 404 ``Status`` body rather than aiohttp's HTML page.

Auth follows a cluster with anonymous access limited to public info: ``/healthz``, ``/livez``, ``/readyz`` and
``/version`` answer without credentials; anything else needs a bearer token — the admin's, or a ServiceAccount's
(:mod:`.authn`) — and what it may do is RBAC's decision (:mod:`.access`, :mod:`.rbac`). Every write asked for is
counted per client, and every request per identity (:mod:`.counting`).
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from floe_lab.kube import discovery, errors, handlers, openapi, reviews, subresources
from floe_lab.kube.access import AUTHN, access_middleware
from floe_lab.kube.authn import Authenticator
from floe_lab.kube.counting import (
    ACCESS_PATH,
    COUNTER,
    COUNTS_PATH,
    RequestCounter,
    access_route,
    counting_middleware,
    counts_route,
)
from floe_lab.kube.errors import ApiError
from floe_lab.kube.httputil import STORE, STREAMS, TOKEN, StreamRegistry, Target, json_response
from floe_lab.kube.resources import lookup
from floe_lab.kube.store import KubeStore

__all__ = ["Endpoints", "create_app", "serve", "serve_endpoints", "serving_context"]

_log = logging.getLogger(__name__)
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_Verb = Callable[[web.Request, Target], Awaitable[web.StreamResponse]]


@web.middleware
async def _render_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_response(exc.status(), status=exc.code)
    except web.HTTPException as exc:
        return json_response(ApiError(exc.status, exc.reason.replace(" ", ""), exc.reason, {}).status(), exc.status)
    except Exception as exc:
        _log.exception("kube stand-in: unhandled error on %s %s", request.method, request.path)
        return json_response(ApiError(500, "InternalError", f"Internal error occurred: {exc}").status(), 500)


def _at(parts: list[str], index: int) -> str | None:
    return parts[index] if index < len(parts) else None


def _parse(parts: list[str]) -> Target:
    """Resolve the path segments after ``/api/v1`` or ``/apis/{group}/{version}`` (group/version already split)."""
    group, version, rest = parts[0], parts[1], parts[2:]
    watch = bool(rest) and rest[0] == "watch"
    if watch:
        rest = rest[1:]
    if len(rest) >= 3 and rest[0] == "namespaces" and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
        rt = lookup(group, version, rest[2])
        if rt is None or not rt.namespaced or len(rest) > 5:
            raise errors.path_not_found()
        namespace: str | None = rest[1]
        name, sub = _at(rest, 3), _at(rest, 4)
    else:
        rt = lookup(group, version, rest[0]) if rest else None
        if rt is None or len(rest) > 3:
            raise errors.path_not_found()
        namespace, name, sub = None, _at(rest, 1), _at(rest, 2)
        if rt.namespaced and name is not None:
            raise errors.path_not_found()
    allowed = {
        "status": rt.has_status,
        "scale": rt.has_scale,
        "log": rt.plural == "pods",
        "token": rt.plural == "serviceaccounts",
    }
    if sub is not None and not allowed.get(sub, False):
        raise errors.path_not_found()
    if watch and (sub is not None or name is not None):
        raise errors.path_not_found()
    return Target(rt, namespace, name, sub, watch)


_COLLECTION: dict[str, _Verb] = {
    "GET": handlers.list_or_watch,
    "POST": handlers.create,
    "DELETE": handlers.delete_collection,
}
_OBJECT: dict[str, _Verb] = {
    "GET": handlers.get,
    "PUT": handlers.replace,
    "PATCH": handlers.patch,
    "DELETE": handlers.delete,
}
_STATUS: dict[str, _Verb] = {"GET": handlers.get, "PUT": handlers.replace, "PATCH": handlers.patch}


def _verb(target: Target, method: str) -> _Verb:
    if target.watch and method != "GET":
        raise errors.method_not_allowed()
    table: dict[str, _Verb]
    if target.resource.virtual:
        table = {"POST": reviews.review} if target.name is None else {}
    elif target.name is None:
        table = _COLLECTION
    elif target.subresource is None:
        table = _OBJECT
    elif target.subresource == "status":
        table = _STATUS
    elif target.subresource == "scale":
        table = dict.fromkeys(("GET", "PUT", "PATCH"), subresources.scale)
    elif target.subresource == "token":
        table = {"POST": reviews.token_request}
    else:
        table = {"GET": subresources.pod_log}
    verb = table.get(method)
    if verb is None:
        raise errors.method_not_allowed()
    return verb


async def _dispatch(request: web.Request) -> web.StreamResponse:
    parts = [p for p in request.path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        if parts[1] != "v1":
            raise errors.path_not_found()
        group_version, resolved = "v1", ["", *parts[1:]]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group_version, resolved = f"{parts[1]}/{parts[2]}", parts[1:]
    elif parts == ["api"] and request.method == "GET":
        return json_response(discovery.api_versions(request.host))
    elif parts == ["apis"] and request.method == "GET":
        return json_response(discovery.api_group_list())
    elif len(parts) == 2 and parts[0] == "apis" and (group := discovery.api_group(parts[1])) is not None:
        return json_response(group)
    else:
        raise errors.path_not_found()
    if len(resolved) == 2:  # /api/v1 or /apis/{group}/{version}: the resource list
        resource_list = discovery.api_resource_list(group_version)
        if resource_list is None or request.method != "GET":
            raise errors.path_not_found()
        return json_response(resource_list)
    target = _parse(resolved)
    return await _verb(target, request.method)(request, target)


async def _ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok", content_type="text/plain")


async def _version(request: web.Request) -> web.StreamResponse:
    return json_response(discovery.VERSION)


async def _openapi_index(request: web.Request) -> web.StreamResponse:
    return json_response(openapi.index())


async def _openapi_document(request: web.Request) -> web.StreamResponse:
    document = openapi.group_version_document(request.match_info["api_path"].strip("/"))
    if document is None:
        raise errors.path_not_found()
    return json_response(document)


async def _end_streams(app: web.Application) -> None:
    """On shutdown, end open watches and log follows so no handler keeps the server from stopping."""
    streams = app[STREAMS]
    streams.stopping = True
    for sub in list(streams.subscriptions):
        sub.end()
    app[STORE].logs.wake_all()


def create_app(store: KubeStore | None = None, *, token: str | None = None) -> web.Application:
    """The stand-in apiserver as an aiohttp app; all its state is in ``store`` (a fresh one by default)."""
    app = web.Application(
        middlewares=[counting_middleware, _render_errors, access_middleware], client_max_size=8 * 1024 * 1024
    )
    app[STORE] = store if store is not None else KubeStore()
    app[COUNTER] = RequestCounter()
    app[TOKEN] = token
    app[AUTHN] = Authenticator(token)
    app[STREAMS] = StreamRegistry()
    app.on_shutdown.append(_end_streams)
    for path in ("/healthz", "/livez", "/readyz"):
        app.router.add_get(path, _ok)
        app.router.add_get(f"{path}/", _ok)
    app.router.add_get("/version", _version)
    app.router.add_get("/version/", _version)
    app.router.add_get("/openapi/v3", _openapi_index)
    app.router.add_get("/openapi/v3/{api_path:.+}", _openapi_document)
    app.router.add_get(COUNTS_PATH, counts_route)  # the lab's write counter (floe_lab.kube.counting)
    app.router.add_get(ACCESS_PATH, access_route)  # every request per identity (floe_lab.kube.counting)
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app


def serving_context(cert_file: str | os.PathLike[str], key_file: str | os.PathLike[str]) -> ssl.SSLContext:
    """The server side of TLS for the secure listener: this certificate (chain) and key, HTTP/1.1 only (offered
    over ALPN, so Go clients do not try HTTP/2)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


@dataclass(frozen=True)
class Endpoints:
    """The base URLs one running stand-in answers on: plain HTTP always, HTTPS when a TLS context was given."""

    http: str
    https: str | None = None


@asynccontextmanager
async def serve_endpoints(
    store: KubeStore | None = None,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: ssl.SSLContext | None = None,
    secure_port: int = 0,
) -> AsyncIterator[Endpoints]:
    """Run the stand-in on ``host:port`` and, with ``tls``, on ``host:secure_port`` too (0: the OS picks).

    Why two listeners of one app: floe-agents, the kubelet and the lab's controllers reach the API by URL and token
    over plain HTTP, while ``kubectl`` wants a real cluster's TLS (it verifies the server and only then sends the
    token). Both listeners serve the same store, auth, watches and request counter.
    """
    runner = web.AppRunner(
        create_app(store, token=token), handler_cancellation=True, shutdown_timeout=5.0, access_log=None
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        http = f"http://{host}:{runner.addresses[0][1]}"
        https = None
        if tls is not None:
            await web.TCPSite(runner, host, secure_port, ssl_context=tls).start()
            https = f"https://{host}:{runner.addresses[1][1]}"
        yield Endpoints(http, https)
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve(
    store: KubeStore | None = None, *, token: str | None = None, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run the stand-in on ``host:port`` (port 0: the OS picks) and yield its base URL, ``http://127.0.0.1:PORT``."""
    async with serve_endpoints(store, token=token, host=host, port=port) as endpoints:
        yield endpoints.http
