"""The resource verbs over HTTP: list (with paging), watch, create, get, replace, patch, delete, deletecollection.

Why these details: ``kubernetes_asyncio`` and other clients rely on them. A create answers 201, a PUT that
creates answers 201 too; list items carry no ``kind``/``apiVersion`` (as a real typed list); a watch is a chunked
stream of JSON lines that starts with synthetic ADDED events unless resumed from a resourceVersion, reports a
too-old resourceVersion as an ERROR event (410), and ends cleanly at ``timeoutSeconds``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import anyio
from aiohttp import web

from floe_lab.kube import errors, tables
from floe_lab.kube.errors import ApiError
from floe_lab.kube.events import WatchEvent
from floe_lab.kube.httputil import (
    STORE,
    STREAMS,
    Target,
    dry_run,
    json_line,
    json_response,
    query_bool,
    query_int,
    read_body,
)
from floe_lab.kube.objects import JsonObj
from floe_lab.kube.store import PATCH_TYPES

__all__ = ["create", "delete", "delete_collection", "get", "list_or_watch", "patch", "replace"]

_DEFAULT_WATCH_SECONDS = 1800  # the apiserver's --min-request-timeout
_JOB_ORPHAN_WARNING = (
    '299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to '
    'remove them or set propagationPolicy=Orphan to suppress this warning"'
)


def _encode_continue(rv: str, namespace: str, name: str) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": int(rv), "start": f"{namespace}/{name}\x00"}
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


def _decode_continue(token: str) -> tuple[str, str]:
    try:
        start = str(json.loads(base64.urlsafe_b64decode(token.encode()))["start"]).rstrip("\x00")
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion") from None
    namespace, _, name = start.partition("/")
    return namespace, name


def _item(obj: JsonObj) -> JsonObj:
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


async def list_or_watch(request: web.Request, target: Target) -> web.StreamResponse:
    as_table = tables.table_options(request)
    if target.watch or query_bool(request, "watch"):
        return await _watch(request, target, as_table)
    store = request.app[STORE]
    rt = target.resource
    objects = store.list(
        rt,
        target.namespace,
        label_selector=request.query.get("labelSelector"),
        field_selector=request.query.get("fieldSelector"),
    )
    rv = store.resource_version
    meta: JsonObj = {"resourceVersion": rv}
    token = request.query.get("continue")
    if token:
        start = _decode_continue(token)
        objects = [o for o in objects if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start]
    limit = query_int(request, "limit")
    if limit is not None and 0 < limit < len(objects):
        last = objects[limit - 1]["metadata"]
        meta["continue"] = _encode_continue(rv, str(last.get("namespace", "")), str(last["name"]))
        meta["remainingItemCount"] = len(objects) - limit
        objects = objects[:limit]
    if as_table is not None:
        return json_response(tables.table(rt, objects, as_table, meta))
    body = {
        "kind": f"{rt.kind}List",
        "apiVersion": rt.api_version,
        "metadata": meta,
        "items": [_item(o) for o in objects],
    }
    return json_response(body)


def _stream() -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"})
    response.enable_chunked_encoding()
    return response


def _event_line(event: WatchEvent, as_table: tables.TableOptions | None, first: bool) -> bytes:
    """One watch line; as a one-row Table when the watch asked for tables (column definitions only in the first)."""
    if as_table is None:
        return json_line(event.wire())
    meta = {"resourceVersion": event.resource_version}
    return json_line(
        {"type": event.type, "object": tables.table(event.resource, [event.object], as_table, meta, columns=first)}
    )


async def _watch(request: web.Request, target: Target, as_table: tables.TableOptions | None) -> web.StreamResponse:
    store, streams = request.app[STORE], request.app[STREAMS]
    rt = target.resource
    timeout = query_int(request, "timeoutSeconds") or _DEFAULT_WATCH_SECONDS
    rv = request.query.get("resourceVersion") or None
    since = rv if rv not in (None, "0") else None
    try:
        sub = store.subscribe(
            rt,
            target.namespace,
            since=since,
            send_initial=since is None,
            label_selector=request.query.get("labelSelector"),
            field_selector=request.query.get("fieldSelector"),
            copy_objects=False,
        )
    except ApiError as exc:
        if exc.code != 410:
            raise
        response = _stream()  # a too-old resourceVersion is an ERROR event, not an HTTP error
        await response.prepare(request)
        await response.write(json_line({"type": "ERROR", "object": exc.status()}))
        await response.write_eof()
        return response
    streams.subscriptions.add(sub)
    response = _stream()
    try:
        await response.prepare(request)
        with anyio.move_on_after(timeout):
            first = True
            async for event in sub:
                await response.write(_event_line(event, as_table, first))
                first = False
        if query_bool(request, "allowWatchBookmarks") and not streams.stopping:
            meta = {"resourceVersion": store.resource_version}
            bookmark = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}
            await response.write(json_line({"type": "BOOKMARK", "object": bookmark}))
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client went away: nothing left to tell it
    finally:
        sub.close()
        streams.subscriptions.discard(sub)
    return response


async def create(request: web.Request, target: Target) -> web.StreamResponse:
    if target.resource.namespaced and target.namespace is None:
        raise errors.method_not_allowed()
    body = await read_body(request)
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    created = request.app[STORE].create(
        body, resource=target.resource, namespace=target.namespace, dry_run=dry_run(request)
    )
    return json_response(created, status=201)


async def get(request: web.Request, target: Target) -> web.StreamResponse:
    assert target.name is not None
    as_table = tables.table_options(request)
    obj = request.app[STORE].get(target.resource, target.name, target.namespace)
    if as_table is not None:
        meta = {"resourceVersion": str(obj["metadata"].get("resourceVersion", ""))}
        return json_response(tables.table(target.resource, [obj], as_table, meta))
    return json_response(obj)


async def replace(request: web.Request, target: Target) -> web.StreamResponse:
    assert target.name is not None
    store = request.app[STORE]
    body = await read_body(request)
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    existed = store.find(target.resource, target.name, target.namespace) is not None
    result = store.replace(
        body,
        resource=target.resource,
        namespace=target.namespace,
        name=target.name,
        subresource=target.subresource,
        dry_run=dry_run(request),
    )
    return json_response(result, status=200 if existed else 201)


async def patch(request: web.Request, target: Target) -> web.StreamResponse:
    assert target.name is not None
    store = request.app[STORE]
    patch_type = PATCH_TYPES.get(request.content_type)
    if patch_type is None:
        raise errors.unsupported_media_type()
    body = await read_body(request, yaml_ok=patch_type == "apply")
    existed = store.find(target.resource, target.name, target.namespace) is not None
    result = store.patch(
        target.resource,
        target.name,
        body,
        namespace=target.namespace,
        patch_type=patch_type,
        subresource=target.subresource,
        dry_run=dry_run(request),
        field_manager=request.query.get("fieldManager"),
    )
    return json_response(result, status=200 if existed else 201)


def _delete_options(request: web.Request, body: Any) -> dict[str, Any]:
    options: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
    grace = query_int(request, "gracePeriodSeconds")
    if grace is not None:
        options["gracePeriodSeconds"] = grace
    if "propagationPolicy" in request.query:
        options["propagationPolicy"] = request.query["propagationPolicy"]
    orphan = request.query.get("orphanDependents", options.get("orphanDependents"))
    if "propagationPolicy" not in options and orphan is not None:
        options["propagationPolicy"] = "Orphan" if str(orphan).lower() == "true" else "Background"
    return options


async def delete(request: web.Request, target: Target) -> web.StreamResponse:
    assert target.name is not None
    store, rt = request.app[STORE], target.resource
    body = await read_body(request, optional=True)
    options = _delete_options(request, body)
    result = store.delete(
        rt,
        target.name,
        target.namespace,
        grace_period_seconds=options.get("gracePeriodSeconds"),
        propagation_policy=options.get("propagationPolicy"),
        preconditions=options.get("preconditions"),
        dry_run=dry_run(request, options),
    )
    headers = {"Warning": _JOB_ORPHAN_WARNING} if rt.plural == "jobs" and not options.get("propagationPolicy") else None
    still_there = store.find(rt, target.name, target.namespace) is not None
    if still_there or rt.returns_deleted_object or rt.plural == "namespaces":
        return json_response(result, headers=headers)
    return json_response(errors.success_status(rt, target.name, str(result["metadata"]["uid"])), headers=headers)


async def delete_collection(request: web.Request, target: Target) -> web.StreamResponse:
    rt = target.resource
    if rt.namespaced and target.namespace is None:
        raise errors.method_not_allowed()
    store = request.app[STORE]
    options = _delete_options(request, await read_body(request, optional=True))
    deleted = store.delete_collection(
        rt,
        target.namespace,
        label_selector=request.query.get("labelSelector"),
        field_selector=request.query.get("fieldSelector"),
        propagation_policy=options.get("propagationPolicy"),
        dry_run=dry_run(request, options),
    )
    body = {
        "kind": f"{rt.kind}List",
        "apiVersion": rt.api_version,
        "metadata": {"resourceVersion": store.resource_version},
        "items": [_item(o) for o in deleted],
    }
    return json_response(body)
