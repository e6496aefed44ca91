"""A Marquez stand-in: the OpenLineage intake (``POST /api/v1/lineage``) and the read API floe-agents queries.

Why: Floe emits lineage with the OpenLineage client to Marquez, and floe-agents judges it by Marquez's answers
(namespaces, jobs, runs, datasets, the lineage graph, recent raw events). No Marquez can run here, so this
serves the same routes and shapes on a 5000-like API port and a 5001-like admin port (``/healthcheck``,
``/ping``). Errors are Dropwizard's: unknown paths give ``{"code":404,"message":"HTTP 404 Not Found"}``, an
unreadable body 400, a body failing bean validation 422 ``{"errors":[...]}``. Like Jersey, a trailing slash
is tolerated, but a wrong prefix (``/lineage``, ``/api/v2/...``, a URL that already ends in
``/api/v1/lineage`` joined with the client's default endpoint) is a 404 — the misconfiguration worth catching.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from floe_lab.observability._serving import JsonStateFile, serve_app
from floe_lab.observability.marquez_model import InvalidEventError, Key, MarquezState, event_kind, iso_now

__all__ = ["MarquezURLs", "create_admin_app", "create_app", "run_marquez"]

STATE_KEY = web.AppKey("marquez_state", MarquezState)
DB_CHECK_KEY = web.AppKey[Callable[[], Awaitable[bool]]]("db_check")
_S = "{_slash:/?}"  # Jersey matches a resource with or without a trailing slash


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"code": status, "message": message}, status=status)


@web.middleware
async def _dropwizard_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _error(exc.status, f"HTTP {exc.status} {exc.reason}")
        raise


def _page(request: web.Request) -> tuple[int, int]:
    try:
        return max(0, int(request.query.get("limit", 100))), max(0, int(request.query.get("offset", 0)))
    except ValueError:
        raise web.HTTPNotFound from None  # Jersey answers 404 when a query param cannot be converted


def _namespace_or_404(request: web.Request) -> str:
    name = request.match_info["namespace"]
    if name not in request.app[STATE_KEY].namespaces:
        raise _NotFoundError(f"Namespace '{name}' not found.")
    return name


class _NotFoundError(Exception):
    pass


async def _post_lineage(request: web.Request) -> web.Response:
    if request.content_type != "application/json":
        return _error(415, "HTTP 415 Unsupported Media Type")
    body = await request.read()
    try:
        doc = json.loads(body) if body.strip() else None
    except ValueError:
        return _error(400, "Unable to process JSON")
    try:
        request.app[STATE_KEY].record(doc)
    except InvalidEventError as exc:
        if exc.status == 422:
            return web.json_response({"errors": exc.errors}, status=422)
        return _error(exc.status, exc.errors[0])
    return web.Response(status=201)


async def _namespaces(request: web.Request) -> web.Response:
    limit, offset = _page(request)
    items = sorted(request.app[STATE_KEY].namespaces.values(), key=lambda n: n["name"])
    return web.json_response({"namespaces": items[offset : offset + limit]})


async def _namespace(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].namespaces[_namespace_or_404(request)])


async def _jobs(request: web.Request) -> web.Response:
    namespace, state = _namespace_or_404(request), request.app[STATE_KEY]
    limit, offset = _page(request)
    keys = sorted(k for k in state.jobs if k[0] == namespace)
    jobs = [state.job_json(k) for k in keys[offset : offset + limit]]
    return web.json_response({"jobs": jobs, "totalCount": len(keys)})


def _job_key(request: web.Request) -> Key:
    key = (_namespace_or_404(request), request.match_info["job"])
    if key not in request.app[STATE_KEY].jobs:
        raise _NotFoundError(f"Job '{key[1]}' not found.")
    return key


async def _job(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].job_json(_job_key(request)))


async def _job_runs(request: web.Request) -> web.Response:
    runs = request.app[STATE_KEY].runs_of(_job_key(request))
    limit, offset = _page(request)
    return web.json_response({"runs": runs[offset : offset + limit], "totalCount": len(runs)})


async def _run(request: web.Request) -> web.Response:
    try:
        run_id = str(uuid.UUID(request.match_info["run_id"]))
    except ValueError:
        raise web.HTTPNotFound from None  # not a UUID: Jersey cannot convert the path param
    run = request.app[STATE_KEY].runs.get(run_id)
    if run is None:
        raise _NotFoundError(f"Run '{request.match_info['run_id']}' not found.")
    return web.json_response(run)


async def _datasets(request: web.Request) -> web.Response:
    namespace, state = _namespace_or_404(request), request.app[STATE_KEY]
    limit, offset = _page(request)
    keys = sorted(k for k in state.datasets if k[0] == namespace)
    return web.json_response(
        {"totalCount": len(keys), "datasets": [state.datasets[k] for k in keys[offset : offset + limit]]}
    )


async def _dataset(request: web.Request) -> web.Response:
    key = (_namespace_or_404(request), request.match_info["dataset"])
    if key not in request.app[STATE_KEY].datasets:
        raise _NotFoundError(f"Dataset '{key[1]}' not found.")
    return web.json_response(request.app[STATE_KEY].datasets[key])


def _node(state: MarquezState, node_id: str) -> tuple[str, Key] | None:
    kind, _, rest = node_id.partition(":")
    table: dict[Key, Any] = {"dataset": state.datasets, "job": state.jobs}.get(kind, {})
    return next(((kind, key) for key in table if f"{key[0]}:{key[1]}" == rest), None)


async def _lineage(request: web.Request) -> web.Response:
    state, node_id = request.app[STATE_KEY], request.query.get("nodeId")
    if not node_id:
        return web.json_response({"errors": ["query param nodeId must not be null"]}, status=400)
    if node_id.partition(":")[0] not in ("dataset", "job", "datasetField"):
        raise web.HTTPNotFound  # NodeId cannot be converted: Jersey's 404
    start = _node(state, node_id)
    if start is None:
        raise _NotFoundError(f"Node '{node_id}' not found.")
    depth = int(request.query.get("depth", "20")) if request.query.get("depth", "20").isdigit() else 20
    edges: dict[str, set[str]] = {}
    for (ns, name), job in state.jobs.items():
        job_id = f"job:{ns}:{name}"
        edges.setdefault(job_id, set())
        for side, forward in (("inputs", False), ("outputs", True)):
            for ds in job[side]:
                ds_id = f"dataset:{ds['namespace']}:{ds['name']}"
                pair = (job_id, ds_id) if forward else (ds_id, job_id)
                edges.setdefault(pair[0], set()).add(pair[1])
                edges.setdefault(pair[1], set())
    reverse: dict[str, set[str]] = {n: set() for n in edges}
    for origin, targets in edges.items():
        for target in targets:
            reverse.setdefault(target, set()).add(origin)
    seen, queue = {node_id: 0}, deque([node_id])
    while queue:
        current = queue.popleft()
        if seen[current] >= 2 * depth:
            continue
        for nxt in edges.get(current, set()) | reverse.get(current, set()):
            if nxt not in seen:
                seen[nxt] = seen[current] + 1
                queue.append(nxt)
    graph = []
    for nid in sorted(seen):
        kind, key = _node(state, nid) or ("dataset", ("", ""))
        data = state.job_json(key) if kind == "job" else state.datasets[key]
        graph.append({
            "id": nid, "type": kind.upper(), "data": data,
            "inEdges": [{"origin": o, "destination": nid} for o in sorted(reverse.get(nid, set()))],
            "outEdges": [{"origin": nid, "destination": d} for d in sorted(edges.get(nid, set()))],
        })  # fmt: skip
    return web.json_response({"graph": graph})


def _when(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise web.HTTPNotFound from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _events(request: web.Request) -> web.Response:
    before = _when(request.query.get("before"), datetime(2030, 1, 1, tzinfo=UTC))
    after = _when(request.query.get("after"), datetime(1970, 1, 1, tzinfo=UTC))
    limit, offset = _page(request)
    runs = [e["event"] for e in request.app[STATE_KEY].events if event_kind(e["event"]) == "run"]
    picked = [e for e in runs if after <= _when(e["eventTime"], after) <= before]
    picked.sort(key=lambda e: _when(e["eventTime"], after), reverse=request.query.get("sortDirection") != "asc")
    return web.json_response({"events": picked[offset : offset + limit], "totalCount": len(picked)})


@web.middleware
async def _not_found_bodies(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except _NotFoundError as exc:
        return _error(404, str(exc))


def create_app(state: MarquezState) -> web.Application:
    """Marquez's API port (5000)."""
    app = web.Application(middlewares=[_dropwizard_errors, _not_found_bodies], client_max_size=16 * 1024 * 1024)
    app[STATE_KEY] = state
    ns, job = "/api/v1/namespaces/{namespace}", "/api/v1/namespaces/{namespace}/jobs/{job}"
    app.router.add_post(f"/api/v1/lineage{_S}", _post_lineage)
    app.router.add_get(f"/api/v1/lineage{_S}", _lineage)
    app.router.add_get(f"/api/v1/events/lineage{_S}", _events)
    app.router.add_get(f"/api/v1/namespaces{_S}", _namespaces)
    app.router.add_get(f"{ns}{_S}", _namespace)
    app.router.add_get(f"{ns}/jobs{_S}", _jobs)
    app.router.add_get(f"{job}{_S}", _job)
    app.router.add_get(f"{job}/runs{_S}", _job_runs)
    app.router.add_get(f"/api/v1/jobs/runs/{{run_id}}{_S}", _run)
    app.router.add_get(f"{ns}/datasets{_S}", _datasets)
    app.router.add_get(f"{ns}/datasets/{{dataset}}{_S}", _dataset)
    return app


async def _healthcheck(request: web.Request) -> web.Response:
    stamp = iso_now()
    healthy = await request.app[DB_CHECK_KEY]()
    db: dict[str, Any] = {"healthy": healthy, "duration": 0, "timestamp": stamp}
    if not healthy:
        db["message"] = "Cannot connect to the database"
    body = {"deadlocks": {"healthy": True, "duration": 0, "timestamp": stamp}, "postgresql": db}
    return web.json_response(body, status=200 if healthy else 500)


async def _ping(request: web.Request) -> web.Response:
    return web.Response(text="pong")


async def _always_healthy() -> bool:
    return True


def create_admin_app(db_check: Callable[[], Awaitable[bool]] | None = None) -> web.Application:
    """Marquez's Dropwizard admin port (5001): ``/healthcheck`` and ``/ping``."""
    app = web.Application()
    app[DB_CHECK_KEY] = db_check or _always_healthy
    app.router.add_get("/healthcheck", _healthcheck)
    app.router.add_get("/ping", _ping)
    return app


@dataclass(frozen=True)
class MarquezURLs:
    """``api`` is the base URL to give the OpenLineage client (it appends ``api/v1/lineage``)."""

    api: str
    admin: str | None
    state: MarquezState

    @property
    def lineage(self) -> str:
        return f"{self.api}/api/v1/lineage"


@asynccontextmanager
async def run_marquez(
    *,
    port: int = 0,
    admin_port: int | None = 0,
    state_file: str | None = None,
    db_check: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[MarquezURLs]:
    """Run the stand-in in this event loop; port 0 = OS-chosen, ``admin_port=None`` = no admin port."""
    state = MarquezState(JsonStateFile(state_file) if state_file else None)
    async with AsyncExitStack() as stack:
        api = await stack.enter_async_context(serve_app(create_app(state), port))
        admin = None
        if admin_port is not None:
            admin = await stack.enter_async_context(serve_app(create_admin_app(db_check), admin_port))
        yield MarquezURLs(api, admin, state)


def ready_line(urls: MarquezURLs) -> str:
    return f"READY {urls.api}" + (f" admin={urls.admin}" if urls.admin else "")
