"""How many writes the stand-in was asked for, per client: the proof that ``heal --dry-run`` changed nothing.

Why count at the server: a dry run is only trustworthy if the cluster itself saw no write from it, and a client
can only report what it meant to send. Every POST, PUT, PATCH and DELETE that reaches the server is counted —
before authentication and validation, so a refused write still counts as one asked for — under its
``User-Agent`` (floe-agents sends ``floe-agents/<version>``; the lab's kubelet and controllers write status all
the time with the client library's default). Requests with ``dryRun=All`` change nothing (the server validates and
discards them), so they are counted apart. ``GET /lab/v1/requests`` (bearer token as for any other path) answers
``{"mutating": N, "by_user_agent": {...}, "dry_run": M, "dry_run_by_user_agent": {...}}``, the shape the lab's
other servers answer too. The path is outside the apiserver's URL space, so it shadows nothing. The reviews
(``authorization.k8s.io`` and ``authentication.k8s.io``: SelfSubjectAccessReview, ...) are POSTs that change
nothing — the server answers a question and stores nothing — so they are not counted as writes.

Every request an authenticated identity makes is also recorded, once the authorizer has resolved it
(:mod:`.access`), as (user, verb, apiGroup, resource, subresource, namespace, name, HTTP status) with a count:
the evidence that a Role grants exactly what a run uses, and that a run under it met no 403.
``GET /lab/v1/requests/by-user`` answers ``{"by_user": {"<user>": [{"verb": ..., "apiGroup": ..., "resource": ...,
"subresource": ..., "namespace": ..., "name": ..., "path": ..., "code": 200, "count": N}, ...]}}`` (``path`` is set
for non-resource requests only); ``?user=NAME`` narrows it to one identity.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import astuple, dataclass
from typing import Any

from aiohttp import web

from floe_lab.kube.requestinfo import RequestInfo

__all__ = [
    "ACCESS_PATH",
    "COUNTS_PATH",
    "IDENTITY",
    "MUTATING_METHODS",
    "AccessRecord",
    "RequestCounter",
    "access_route",
    "counting_middleware",
    "counts_route",
]

COUNTS_PATH = "/lab/v1/requests"
ACCESS_PATH = "/lab/v1/requests/by-user"
_REVIEW_PREFIXES = ("/apis/authorization.k8s.io/", "/apis/authentication.k8s.io/")
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NO_AGENT = ""  # a request without a User-Agent header is counted under the empty string

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class AccessRecord:
    """One kind of request one identity made (the authorizer's attributes) and how the server answered it."""

    user: str
    verb: str
    api_group: str
    resource: str
    subresource: str
    namespace: str
    name: str
    path: str  # non-resource requests only ('' for resource requests)
    code: int

    def wire(self, count: int) -> dict[str, Any]:
        return {
            "verb": self.verb,
            "apiGroup": self.api_group,
            "resource": self.resource,
            "subresource": self.subresource,
            "namespace": self.namespace,
            "name": self.name,
            "path": self.path,
            "code": self.code,
            "count": count,
        }


# What the access middleware learned about a request: who made it and what it asked, for the record.
IDENTITY: web.RequestKey[tuple[str, RequestInfo]] = web.RequestKey("floe_kube_identity", tuple)


class RequestCounter:
    """Mutating requests per ``User-Agent``, real and dry-run apart, and every request per identity (one event
    loop: no lock needed)."""

    def __init__(self) -> None:
        self.mutating: Counter[str] = Counter()
        self.dry_run: Counter[str] = Counter()
        self.access: Counter[AccessRecord] = Counter()

    def record(self, user: str, info: RequestInfo, code: int) -> None:
        path = "" if info.resource_request else info.path
        self.access[
            AccessRecord(user, info.verb, info.api_group, info.resource, info.subresource, info.namespace, info.name,
                         path, code)
        ] += 1  # fmt: skip

    def by_user(self, user: str | None = None) -> dict[str, Any]:
        """The body of ``GET /lab/v1/requests/by-user``."""
        out: dict[str, list[dict[str, Any]]] = {}
        for record, count in sorted(self.access.items(), key=lambda item: astuple(item[0])):
            if user is None or record.user == user:
                out.setdefault(record.user, []).append(record.wire(count))
        return {"by_user": out}

    def count(self, method: str, user_agent: str | None, *, dry_run: bool) -> None:
        if method.upper() not in MUTATING_METHODS:
            return
        (self.dry_run if dry_run else self.mutating)[user_agent or _NO_AGENT] += 1

    def snapshot(self) -> dict[str, Any]:
        """The JSON body of ``GET /lab/v1/requests``."""
        return {
            "mutating": sum(self.mutating.values()),
            "by_user_agent": dict(sorted(self.mutating.items())),
            "dry_run": sum(self.dry_run.values()),
            "dry_run_by_user_agent": dict(sorted(self.dry_run.items())),
        }


COUNTER: web.AppKey[RequestCounter] = web.AppKey("floe_kube_request_counter", RequestCounter)


def _is_dry_run(request: web.Request) -> bool:
    # Only the query parameter is read here: a DELETE's body may say dryRun too, but reading the body in a
    # middleware would consume it; a body-only dry-run DELETE is therefore counted as a write (the safe side).
    return bool(request.query.getall("dryRun", []))


@web.middleware
async def counting_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Count the request (if it asks for a change) before anything can refuse it; once answered, record it under
    the identity that made it (when one was authenticated)."""
    counter = request.app[COUNTER]
    if not request.path.startswith(COUNTS_PATH) and not request.path.startswith(_REVIEW_PREFIXES):
        counter.count(request.method, request.headers.get("User-Agent"), dry_run=_is_dry_run(request))
    response = await handler(request)
    if (identity := request.get(IDENTITY)) is not None and not request.path.startswith(COUNTS_PATH):
        counter.record(identity[0], identity[1], response.status)
    return response


async def counts_route(request: web.Request) -> web.StreamResponse:
    return web.json_response(request.app[COUNTER].snapshot())


async def access_route(request: web.Request) -> web.StreamResponse:
    return web.json_response(request.app[COUNTER].by_user(request.query.get("user")))
