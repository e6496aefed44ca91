"""A Cube stand-in: the health probes and the REST API (``/cubejs-api/v1/meta``, ``/load``) with Cube's JWT auth.

Why: Floe's semantic layer is Cube over the gold tables, and floe-agents checks it the way a user would —
``/readyz`` (which Cube answers ``500 {"health":"DOWN"}`` when its data source cannot be reached, while
``/livez`` stays up), ``/meta`` with a token signed by the API secret (raw, or after any scheme word such as
``Bearer``; ``403 {"error":"Invalid token"}`` otherwise, ``"Authorization header isn't set"`` when absent), and
``/load``, which fails naming the table when a cube's ``sql_table`` is missing. The model comes from a small
YAML/JSON file in Cube's own model syntax (``cubes: [{name, sql_table, measures, dimensions, segments}]``);
meta is compiled from it without touching the data source, as in Cube.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import yaml
from aiohttp import web

from floe_lab.observability._serving import serve_app

__all__ = ["CubeState", "CubeURLs", "create_app", "load_model", "run_cube", "tcp_check"]

SourceCheck = Callable[[], Awaitable[bool]]
_ALGORITHMS = ["HS256", "HS384", "HS512"]  # what jsonwebtoken accepts for a string secret
_AGGREGATES = {"count", "count_distinct", "count_distinct_approx", "sum", "avg", "min", "max", "running_total"}
_DEFAULT_PORTS = {"http": 80, "https": 443, "postgres": 5432, "postgresql": 5432, "s3": 443}


@dataclass
class CubeState:
    """What one Cube deployment knows: its secret, its model, which tables its source lacks, how to reach it."""

    api_secret: str
    cubes: list[dict[str, Any]] = field(default_factory=list)
    missing_tables: set[str] = field(default_factory=set)
    source_check: SourceCheck | None = None
    dev_mode: bool = False


STATE_KEY = web.AppKey("cube_state", CubeState)


def load_model(path: str | Path) -> list[dict[str, Any]]:
    """Cubes from a model file (YAML or JSON, ``{"cubes": [...]}``); each needs ``name`` and ``sql_table``."""
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    cubes = document.get("cubes", []) if isinstance(document, dict) else None
    if not isinstance(cubes, list) or not all(isinstance(c, dict) and c.get("name") for c in cubes):
        raise ValueError(f"{path}: expected a mapping with a list of named cubes under 'cubes'")
    return cubes


def tcp_check(url: str, timeout: float = 1.0) -> SourceCheck:
    """A readiness check that the data source at ``url`` accepts TCP connections."""
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    host, port = parts.hostname or "127.0.0.1", parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)

    async def check() -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError):
            return False
        writer.close()
        await writer.wait_closed()
        return True

    return check


def _title(name: str) -> str:
    return " ".join(word.capitalize() for word in re.split(r"[_\s]+", name) if word)


def _visible(item: dict[str, Any]) -> bool:
    return bool(item.get("public", item.get("shown", True)))


def _cube_meta(cube: dict[str, Any], extended: bool) -> dict[str, Any]:
    name, title = cube["name"], cube.get("title") or _title(cube["name"])

    def member(item: dict[str, Any], **extra: Any) -> dict[str, Any]:
        short = item.get("title") or _title(item["name"])
        meta = {"name": f"{name}.{item['name']}", "title": f"{title} {short}", "shortTitle": short, **extra}
        meta.update(isVisible=_visible(item), public=_visible(item))
        if item.get("description"):
            meta["description"] = item["description"]
        if extended and item.get("sql"):
            meta["sql"] = item["sql"]
        return meta

    measures = [
        member(
            m,
            cumulativeTotal=m.get("type") == "running_total",
            cumulative=m.get("type") == "running_total" or bool(m.get("rolling_window")),
            type="number" if m.get("type", "count") in _AGGREGATES else m["type"],
            aggType=m.get("type", "count"),
            drillMembers=[f"{name}.{d}" for d in m.get("drill_members", [])],
            drillMembersGrouped={"measures": [], "dimensions": [f"{name}.{d}" for d in m.get("drill_members", [])]},
        )
        for m in cube.get("measures", [])
    ]
    dimensions = [
        member(d, type=d.get("type", "string"), suggestFilterValues=True, primaryKey=bool(d.get("primary_key")))
        for d in cube.get("dimensions", [])
    ]
    meta: dict[str, Any] = {
        "name": name, "title": title, "type": "cube", "isVisible": _visible(cube), "public": _visible(cube),
        "measures": measures, "dimensions": dimensions, "segments": [member(s) for s in cube.get("segments", [])],
        "hierarchies": [], "folders": [], "nestedFolders": [],
    }  # fmt: skip
    if cube.get("description"):
        meta["description"] = cube["description"]
    if extended:
        meta.update(sqlTable=cube.get("sql_table"), dataSource=cube.get("data_source", "default"))
    return meta


def _token(request: web.Request) -> str | None:
    header = request.headers.get("x-cube-authorization") or request.headers.get("Authorization")
    if not header:
        return None
    parts = header.split(" ")
    return parts[1] if len(parts) > 1 else parts[0]


@web.middleware
async def _auth(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Cube's default checkAuth, production mode: a JWT signed with the API secret, or 403."""
    state = request.app[STATE_KEY]
    if not request.path.startswith("/cubejs-api/"):
        return await handler(request)
    token = _token(request)
    if token is None:
        if not state.dev_mode:
            return web.json_response({"error": "Authorization header isn't set"}, status=403)
    else:
        try:
            with warnings.catch_warnings():  # Cube accepts short secrets without a word; so do we
                warnings.filterwarnings("ignore", message="The HMAC key is")
                jwt.decode(token, state.api_secret, algorithms=_ALGORITHMS, options={"verify_aud": False})
        except jwt.PyJWTError:
            if not state.dev_mode:
                return web.json_response({"error": "Invalid token"}, status=403)
    return await handler(request)


async def _is_up(state: CubeState) -> bool:
    if state.source_check is None:
        return True
    try:
        return await state.source_check()
    except Exception:  # any failure of the probe means the source is not ready
        return False


async def _readyz(request: web.Request) -> web.Response:
    up = await _is_up(request.app[STATE_KEY])
    return web.json_response({"health": "HEALTH" if up else "DOWN"}, status=200 if up else 500)


async def _livez(request: web.Request) -> web.Response:
    return web.json_response({"health": "HEALTH"})


async def _meta(request: web.Request) -> web.Response:
    extended = "extended" in request.query
    return web.json_response({"cubes": [_cube_meta(c, extended) for c in request.app[STATE_KEY].cubes]})


def _filter_members(filters: Iterable[Any]) -> Iterable[str]:
    for item in filters:
        if isinstance(item, dict):
            yield item.get("member") or item.get("dimension") or ""
            yield from _filter_members(item.get("and") or [])
            yield from _filter_members(item.get("or") or [])


def _members(query: dict[str, Any]) -> list[str]:
    found = [*(query.get("measures") or []), *(query.get("dimensions") or []), *(query.get("segments") or [])]
    found += [td.get("dimension", "") for td in query.get("timeDimensions") or [] if isinstance(td, dict)]
    found += _filter_members(query.get("filters") or [])
    return [str(m) for m in dict.fromkeys(found) if m]


async def _load(request: web.Request) -> web.Response:
    state, request_id = request.app[STATE_KEY], f"{uuid.uuid4()}-span-1"
    try:
        body = await request.json() if request.method == "POST" else {"query": request.query.get("query")}
        raw = body.get("query") if isinstance(body, dict) else None
        query = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        return web.json_response({"error": f"Unable to decode query param as JSON, error: {exc}"}, status=400)
    if not isinstance(query, dict):
        return web.json_response({"error": "Query param is required", "requestId": request_id}, status=400)
    by_name = {c["name"]: c for c in state.cubes}
    annotation: dict[str, dict[str, Any]] = {"measures": {}, "dimensions": {}, "segments": {}, "timeDimensions": {}}
    used: dict[str, dict[str, Any]] = {}
    for path in _members(query):
        cube = by_name.get(path.split(".")[0])
        if cube is None:
            error = f"Cube '{path.split('.')[0]}' not found for path '{path}'"
            return web.json_response({"type": "UserError", "error": error, "requestId": request_id}, status=400)
        used[cube["name"]] = cube
        meta = _cube_meta(cube, False)
        for kind in ("measures", "dimensions", "segments"):
            for item in meta[kind]:
                if item["name"] == path:
                    annotation[kind][path] = {k: item[k] for k in ("title", "shortTitle") if k in item}
                    annotation[kind][path]["type"] = item.get("type", "boolean")
    if not await _is_up(state):
        return web.json_response({"error": "Error: connect ECONNREFUSED", "requestId": request_id}, status=500)
    for cube in used.values():
        if cube.get("sql_table") in state.missing_tables:
            error = f"Error: Catalog Error: Table with name {cube['sql_table']} does not exist!"
            return web.json_response({"error": error, "requestId": request_id}, status=400)
    wanted = _members(query)
    rows = [{p: row.get(p.split(".", 1)[1]) for p in wanted} for cube in used.values() for row in cube.get("rows", [])]
    reply = {
        "query": query, "data": rows, "lastRefreshTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "annotation": annotation, "dataSource": "default", "dbType": "duckdb", "external": False,
        "slowQuery": False, "total": None, "requestId": request_id,
    }  # fmt: skip
    return web.json_response(reply)


def create_app(state: CubeState) -> web.Application:
    """Cube's API port (4000)."""
    app = web.Application(middlewares=[_auth])
    app[STATE_KEY] = state
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/livez", _livez)
    app.router.add_get("/cubejs-api/v1/meta", _meta)
    app.router.add_get("/cubejs-api/v1/load", _load)
    app.router.add_post("/cubejs-api/v1/load", _load)
    return app


@dataclass(frozen=True)
class CubeURLs:
    """``api`` is the server root; the REST API lives under ``rest`` (``/cubejs-api/v1``)."""

    api: str
    state: CubeState

    @property
    def rest(self) -> str:
        return f"{self.api}/cubejs-api/v1"


@asynccontextmanager
async def run_cube(
    *,
    api_secret: str,
    port: int = 0,
    model_file: str | None = None,
    cubes: list[dict[str, Any]] | None = None,
    source_url: str | None = None,
    source_check: SourceCheck | None = None,
    missing_tables: Iterable[str] = (),
    dev_mode: bool = False,
) -> AsyncIterator[CubeURLs]:
    """Run the stand-in in this event loop. Readiness follows ``source_check``, else a TCP probe of ``source_url``."""
    model = list(cubes or []) + (load_model(model_file) if model_file else [])
    check = source_check or (tcp_check(source_url) if source_url else None)
    state = CubeState(api_secret, model, set(missing_tables), check, dev_mode)
    async with serve_app(create_app(state), port) as api:
        yield CubeURLs(api, state)


def ready_line(urls: CubeURLs) -> str:
    return f"READY {urls.api}"
