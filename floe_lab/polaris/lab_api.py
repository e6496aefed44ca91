"""The lab's own window into the stand-in: how many *mutating* requests it received, and from whom.

Why: ``floe-agents heal --dry-run`` promises zero writes, and the place to prove it is the server. Every request
with method POST, PUT, PATCH or DELETE is counted as it arrives — whatever its answer, authenticated or not,
because an attempted write is a write — except the OAuth token endpoint (a token is not a change) and this
``/lab/`` namespace. Counts are kept per ``User-Agent`` header (``-`` when absent), so a test can tell
floe-agents (``floe-agents/<version>``) from the lab's own jobs (polaris-init, seed: ``python-httpx/...``,
pyiceberg's requests session) writing to the same catalog.

``GET /lab/v1/requests`` on the API port (no token needed; nothing of Polaris lives under ``/lab/``) answers::

    {"mutating": 12,
     "by_user_agent": {"floe-agents/0.6.0": 3, "python-httpx/0.28.1": 9},
     "by_product": {"floe-agents": 3, "python-httpx": 9}}

``by_product`` is the User-Agent's first product token without its version, for tests that should not care
about version numbers. Counters live in memory and start at zero with the process.
"""

from __future__ import annotations

import collections
import threading

from aiohttp import web

__all__ = ["LAB_PREFIX", "MUTATING", "REQUESTS_PATH", "RequestCounter", "routes"]

LAB_PREFIX = "/lab/"
REQUESTS_PATH = "/lab/v1/requests"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _product(user_agent: str) -> str:
    first = user_agent.split(maxsplit=1)[0] if user_agent.strip() else "-"
    return first.split("/", 1)[0]


class RequestCounter:
    """Thread-safe counts of mutating requests per User-Agent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_agent: collections.Counter[str] = collections.Counter()

    def observe(self, method: str, path: str, user_agent: str | None, *, token_path: str) -> None:
        if method.upper() not in MUTATING or path == token_path or path.startswith(LAB_PREFIX):
            return
        with self._lock:
            self._by_agent[user_agent or "-"] += 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            by_agent = dict(sorted(self._by_agent.items()))
        by_product: collections.Counter[str] = collections.Counter()
        for agent, count in by_agent.items():
            by_product[_product(agent)] += count
        return {
            "mutating": sum(by_agent.values()),
            "by_user_agent": by_agent,
            "by_product": dict(sorted(by_product.items())),
        }


def routes(counter: RequestCounter) -> list[web.RouteDef]:
    async def requests(request: web.Request) -> web.Response:
        return web.json_response(counter.snapshot())

    return [web.get(REQUESTS_PATH, requests, allow_head=False)]
