"""Kubernetes API calls as plain JSON, with every failure named: the reader the cluster-facing probes share.

The kubernetes, endpoints and emitters probes list namespaced objects. kubernetes-asyncio's models would raise on
a garbage answer and hide the difference between "refused", "timed out", "401" and "not a list", which is
exactly what a 3 a.m. report needs to say; so calls are made raw (``_preload_content=False``) under a hard
timeout, and anything but a 2xx list becomes a :class:`KubeError` carrying a finding code and the reason. The
items are then read as typed models (:func:`list_objects`), each one that does not fit left out.

Nothing the API server sends is read whole: a list is asked for in pages of :data:`PAGE_ITEMS`, at most
:data:`MAX_ITEMS` items in all, and each body is read in chunks and cut at
:data:`~floe_agents.transport.MAX_BODY_BYTES`; either limit passed is ``k8s.api_bad_response`` with reason
``too_large`` (a partial list would read as missing objects), never a parse of a partial body.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, TypeVar, cast

import anyio

from floe_agents.gather import gather
from floe_agents.probes._http import printable
from floe_agents.probes._models import Model
from floe_agents.probes._models.lenient import JsonObject, parse_each
from floe_agents.transport import MAX_BODY_BYTES

if TYPE_CHECKING:
    import aiohttp

REQUEST_TIMEOUT_S = 3.0
PAGE_ITEMS = 250  # ``limit=`` of one list call
MAX_ITEMS = 5000  # the most items one list reads, all pages together
M = TypeVar("M", bound=Model)


ApiCall = Callable[..., Awaitable[object]]  # a kubernetes-asyncio API method


class KubeError(Exception):
    """A Kubernetes API call that gave no usable answer; ``code`` and ``evidence`` say why."""

    def __init__(self, code: str, reason: str, **evidence: str | int) -> None:
        super().__init__(reason)
        self.code = code
        self.evidence: dict[str, str | int] = {"reason": reason, **evidence}


async def call(fn: ApiCall, *args: str, **kwargs: str | int) -> bytes:
    """One API call, raw: the body of a 2xx answer, else KubeError naming the failure class."""
    import aiohttp  # noqa: PLC0415 - loaded with the Kubernetes client, not before the first probe runs

    try:
        with anyio.fail_after(REQUEST_TIMEOUT_S + 0.5):
            raw = await fn(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_S, **kwargs)
            resp = cast(aiohttp.ClientResponse, raw)  # what _preload_content=False returns
            try:
                body = await _read_capped(resp)
            finally:
                resp.release()
    except TimeoutError:
        raise KubeError("k8s.api_unreachable", f"no answer within {REQUEST_TIMEOUT_S:g}s", error="timeout") from None
    except aiohttp.ClientConnectorError as exc:
        tls = isinstance(exc, aiohttp.ClientSSLError) or "SSL" in str(exc)
        raise KubeError("k8s.api_unreachable", str(exc), error="tls" if tls else "connect") from None
    except (aiohttp.ClientError, ValueError) as exc:
        error = "truncated" if isinstance(exc, aiohttp.ClientPayloadError) else type(exc).__name__
        raise KubeError("k8s.api_bad_response", printable(f"{type(exc).__name__}: {exc}", 300), error=error) from None
    if 200 <= resp.status < 300:
        return body
    try:
        message = printable(str(json.loads(body).get("message") or ""), 300)
    except (ValueError, AttributeError):
        message = printable(body, 200)
    if resp.status == 403:
        needs = _needs(message) or _needs_of_call(fn, args)
        raise KubeError("k8s.api_unauthorized", f"not permitted: needs {needs} (HTTP 403 {message})".strip(),
                        status=resp.status, needs=needs)  # fmt: skip
    code = "k8s.api_unauthorized" if resp.status == 401 else "k8s.api_bad_response"
    raise KubeError(code, f"HTTP {resp.status} {message}".strip(), status=resp.status)


# The authorizer's words: 'User "u" cannot list resource "pods" in API group "" in the namespace "floe"'.
_FORBIDDEN = re.compile(r'cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?')
_GROUPS = {"CoreV1Api": "", "AppsV1Api": "apps", "BatchV1Api": "batch", "CoordinationV1Api": "coordination.k8s.io"}


def _needs(message: str) -> str:
    """'list on pods in namespace floe' from a real 403's message ('' when it is not worded so)."""
    found = _FORBIDDEN.search(message)
    if found is None:
        return ""
    verb, resource, group, namespace = found.groups()
    base, _, sub = resource.partition("/")
    what = f"{base}.{group}" if group else base
    return f"{verb} on {what}{'/' + sub if sub else ''}" + (f" in namespace {namespace}" if namespace else "")


def _needs_of_call(fn: ApiCall, args: tuple[str, ...]) -> str:
    """The same, guessed from the client method (``list_namespaced_pod``, ``read_namespaced_pod_log``)."""
    name = getattr(fn, "__name__", "")
    action, _, rest = name.partition("_namespaced_")
    verb = {"list": "list", "read": "get"}.get(action, action or "call")
    log = rest.endswith("_log")
    plural = rest.removesuffix("_log").replace("_", "")
    plural = plural if plural.endswith("s") else plural + "s"
    group = _GROUPS.get(type(getattr(fn, "__self__", None)).__name__, "")
    namespace = args[0] if verb == "list" and args else args[1] if len(args) > 1 else ""
    what = f"{plural}.{group}" if group else plural
    return f"{verb} on {what}{'/log' if log else ''}" + (f" in namespace {namespace}" if namespace else "")


async def _read_capped(resp: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    read = 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        read += len(chunk)
        if read > MAX_BODY_BYTES:
            raise KubeError(
                "k8s.api_bad_response",
                f"answer larger than the {MAX_BODY_BYTES} byte cap: cut after {read} bytes",
                error="too_large",
                cap_bytes=MAX_BODY_BYTES,
                bytes_read=read,
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def list_items(fn: ApiCall, namespace: str, **kwargs: str) -> list[JsonObject]:
    """The ``items`` of a namespaced list call (``kwargs``: e.g. ``label_selector``), as plain JSON, page by page;
    KubeError for anything that is not a list, or for more than :data:`MAX_ITEMS` items."""
    items: list[JsonObject] = []
    more: dict[str, str] = {}
    while True:
        data = await _page(fn, namespace, limit=PAGE_ITEMS, **more, **kwargs)
        items += dicts(data.get("items"))
        if len(items) > MAX_ITEMS:
            raise KubeError(
                "k8s.api_bad_response", f"more than {MAX_ITEMS} items", error="too_large", max_items=MAX_ITEMS
            )
        token = get(data, "metadata", "continue")
        if not isinstance(token, str) or not token:
            return items
        more = {"_continue": token}


async def _page(fn: ApiCall, namespace: str, **kwargs: str | int) -> JsonObject:
    body = await call(fn, namespace, **kwargs)
    try:
        data = json.loads(body)
    except ValueError:
        raise KubeError("k8s.api_bad_response", "answer is not JSON", body=printable(body, 200)) from None
    if not isinstance(data, dict) or "items" not in data or not isinstance(data["items"] or [], list):
        raise KubeError("k8s.api_bad_response", "answer is not a Kubernetes list", body=printable(str(data), 200))
    return data


async def list_objects(model: type[M], fn: ApiCall, namespace: str, **kwargs: str) -> list[M]:
    """The items of a namespaced list call as ``model``; KubeError as for :func:`list_items`."""
    return parse_each(model, await list_items(fn, namespace, **kwargs))


async def list_all(
    calls: Mapping[str, ApiCall], namespace: str
) -> tuple[dict[str, list[JsonObject]], dict[str, KubeError]]:
    """Every resource of ``calls`` (resource -> list method) listed at once: the items of those the API listed,
    and the error of each it would not."""

    async def one(fn: ApiCall) -> tuple[list[JsonObject], KubeError | None]:
        try:
            return await list_items(fn, namespace), None
        except KubeError as exc:
            return [], exc

    listed = dict(zip(calls, await gather(functools.partial(one, fn) for fn in calls.values()), strict=True))
    got = {resource: items for resource, (items, error) in listed.items() if error is None}
    return got, {resource: error for resource, (_, error) in listed.items() if error is not None}


# Plain-JSON access, kept for the emitters probe until it reads :class:`~floe_agents.probes._models.kube.Deployment`.
Json = JsonObject


def get(obj: object, *path: str) -> object:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def dicts(obj: object) -> list[Json]:
    return [x for x in obj if isinstance(x, dict)] if isinstance(obj, list) else []


def name_of(obj: Json) -> str:
    return str(get(obj, "metadata", "name"))
