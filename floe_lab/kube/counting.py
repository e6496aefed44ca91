"""How many writes the stand-in was asked for, per client: the proof that ``heal --dry-run`` changed nothing.

Why count at the server: a dry run is only trustworthy if the cluster itself saw no write from it, and a client
can only report what it meant to send. Every POST, PUT, PATCH and DELETE that reaches the server is counted —
before authentication and validation, so a refused write still counts as one asked for — under its
``User-Agent`` (floe-agents sends ``floe-agents/<version>``; the lab's kubelet and controllers write status all
the time with the client library's default). Requests with ``dryRun=All`` change nothing (the server validates and
discards them), so they are counted apart. ``GET /lab/v1/requests`` (bearer token as for any other path) answers
``{"mutating": N, "by_user_agent": {...}, "dry_run": M, "dry_run_by_user_agent": {...}}``, the shape the lab's
other servers answer too. The path is outside the apiserver's URL space, so it shadows nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

__all__ = ["COUNTS_PATH", "MUTATING_METHODS", "RequestCounter", "counting_middleware", "counts_route"]

COUNTS_PATH = "/lab/v1/requests"
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NO_AGENT = ""  # a request without a User-Agent header is counted under the empty string

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RequestCounter:
    """Mutating requests per ``User-Agent``, real and dry-run apart (one event loop: no lock needed)."""

    def __init__(self) -> None:
        self.mutating: Counter[str] = Counter()
        self.dry_run: Counter[str] = Counter()

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
    """Count the request (if it asks for a change) before anything can refuse it."""
    if request.path != COUNTS_PATH:
        request.app[COUNTER].count(request.method, request.headers.get("User-Agent"), dry_run=_is_dry_run(request))
    return await handler(request)


async def counts_route(request: web.Request) -> web.StreamResponse:
    return web.json_response(request.app[COUNTER].snapshot())
