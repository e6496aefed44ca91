"""The ``/scale`` and ``pods/{name}/log`` subresources (``/status`` is handled by the generic verbs).

Why they are here: scaling a workload and reading a container's log are the two things a diagnosing or healing
agent does most, through ``*_scale`` and ``read_namespaced_pod_log``. Both must behave as on a real cluster,
including the errors: a log request without ``container`` for a multi-container pod is a 400 that names the
containers, and a container that has not started yet "is waiting to start".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from floe_lab.kube import errors
from floe_lab.kube.httputil import (
    STORE,
    STREAMS,
    Target,
    dry_run,
    json_response,
    query_bool,
    query_int,
    read_body,
)
from floe_lab.kube.logs import LogQuery, render
from floe_lab.kube.objects import JsonObj
from floe_lab.kube.selectors import selector_string
from floe_lab.kube.store import PATCH_TYPES, KubeStore

__all__ = ["pod_log", "scale"]


def _scale_of(obj: JsonObj) -> JsonObj:
    meta = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    kept = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in kept if k in meta},
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {"replicas": status.get("replicas", 0), "selector": selector_string(spec.get("selector"))},
    }


async def scale(request: web.Request, target: Target) -> web.StreamResponse:
    """GET/PUT/PATCH ``.../{name}/scale``: an ``autoscaling/v1`` Scale view of ``spec.replicas``."""
    assert target.name is not None
    store: KubeStore = request.app[STORE]
    current = _scale_of(store.get(target.resource, target.name, target.namespace))
    if request.method == "GET":
        return json_response(current)
    if request.method == "PUT":
        wanted = await read_body(request)
    else:
        patch_type = PATCH_TYPES.get(request.content_type)
        if patch_type is None or patch_type == "apply":
            raise errors.unsupported_media_type()
        wanted = store._apply_patch(current, await read_body(request), patch_type)
    if not isinstance(wanted, dict):
        raise errors.bad_request("the body of the request must be a Scale object")
    replicas = (wanted.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid(
            target.resource,
            target.name,
            [
                errors.Cause(
                    "spec.replicas",
                    "FieldValueInvalid",
                    f"Invalid value: {replicas}: must be greater than or equal to 0",
                )
            ],
        )
    change: dict[str, Any] = {"spec": {"replicas": replicas}}
    rv = (wanted.get("metadata") or {}).get("resourceVersion")
    if rv:
        change["metadata"] = {"resourceVersion": rv}
    updated = store.patch(target.resource, target.name, change, namespace=target.namespace, dry_run=dry_run(request))
    return json_response(_scale_of(updated))


def _log_query(request: web.Request) -> LogQuery:
    since_time = None
    if raw := request.query.get("sinceTime"):
        try:
            since_time = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise errors.bad_request(f'sinceTime: Invalid value: "{raw}"') from None
    return LogQuery(
        tail_lines=query_int(request, "tailLines"),
        since_seconds=query_int(request, "sinceSeconds"),
        since_time=since_time,
        timestamps=query_bool(request, "timestamps"),
        limit_bytes=query_int(request, "limitBytes"),
    )


def _pick_container(pod: JsonObj, name: str, wanted: str | None) -> str:
    spec = pod.get("spec") or {}
    regular = [str(c.get("name")) for c in spec.get("containers") or [] if isinstance(c, dict)]
    others = [str(c.get("name")) for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    if wanted is None:
        if len(regular) > 1:
            raise errors.bad_request(
                f"a container name must be specified for pod {name}, choose one of: [{' '.join(regular)}]"
            )
        return regular[0] if regular else ""
    if wanted not in regular + others:
        raise errors.bad_request(f"container {wanted} is not valid for pod {name}")
    return wanted


def _check_started(pod: JsonObj, name: str, container: str) -> None:
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("name") == container:
            waiting = (entry.get("state") or {}).get("waiting")
            if waiting is not None:
                reason = waiting.get("reason") or "ContainerCreating"
                raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
            return
    if status.get("phase", "Pending") == "Pending":
        raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating')


async def pod_log(request: web.Request, target: Target) -> web.StreamResponse:
    """GET ``pods/{name}/log`` with the kubelet's query options; ``follow=true`` streams appended text."""
    assert target.name is not None
    assert target.namespace is not None
    store: KubeStore = request.app[STORE]
    ns, name = target.namespace, target.name
    pod = store.get("pods", name, ns)
    container = _pick_container(pod, name, request.query.get("container"))
    previous = query_bool(request, "previous")
    if previous and not store.logs.has(ns, name, container, previous=True):
        raise errors.bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
    if not previous and not store.logs.has(ns, name, container, previous=False):
        _check_started(pod, name, container)
    query = _log_query(request)
    text = render(store.logs.lines(ns, name, container, previous=previous), query)
    if not query_bool(request, "follow") or previous:
        return web.Response(text=text, content_type="text/plain")
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    streams = request.app[STREAMS]
    try:
        await response.prepare(request)
        await response.write(text.encode())
        sent = len("".join(line.text for line in store.logs.lines(ns, name, container, previous=False)))
        while not streams.stopping and store.find("pods", name, ns) is not None:
            await store.logs.changed(ns, name).wait()
            full = "".join(line.text for line in store.logs.lines(ns, name, container, previous=False))
            if len(full) > sent:
                await response.write(full[sent:].encode())
            sent = len(full)
        await response.write_eof()
    except ConnectionResetError:
        pass
    return response
