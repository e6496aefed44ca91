"""A Jaeger all-in-one stand-in: OTLP/HTTP and OTLP/gRPC receivers plus Jaeger's query HTTP API.

Why: no Jaeger can be installed here, yet floe-agents must be tested against what a real one does — accept
spans from the real OpenTelemetry exporters (protobuf over HTTP on a 4318-like port, gRPC on a 4317-like one),
and answer ``/api/services`` and ``/api/traces`` on a 16686-like port in Jaeger's exact JSON envelope,
including ``jaeger-all-in-one`` in the service list (the real one traces its own query API, which is why the
seed report saw only that service when the platform emitted nothing) and the 400 envelope for a missing
``service``. Like Jaeger, the trace search ignores ``lookback`` (a UI-only parameter) and searches the last
two days unless ``start``/``end`` (µs) are given. An optional admin port answers Jaeger's health JSON.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from floe_lab.observability._serving import JsonStateFile, serve_app
from floe_lab.observability.jaeger_model import normalise_trace_id
from floe_lab.observability.jaeger_otlp import create_otlp_http_app, grpc_server
from floe_lab.observability.jaeger_store import SELF_SERVICE, TraceQuery, TraceStore

__all__ = ["JaegerURLs", "create_admin_app", "create_otlp_http_app", "create_query_app", "run_jaeger"]

STORE_KEY = web.AppKey("trace_store", TraceStore)
STARTED_KEY = web.AppKey("started_at", float)
DEFAULT_LOOKBACK_US = 2 * 24 * 3600 * 1_000_000
_INDEX_HTML = (
    "<!doctype html><html><head><title>Jaeger UI</title></head><body><div id=jaeger-ui-root></div></body></html>"
)
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_US = {
    "ns": 0.001,
    "us": 1,
    "µs": 1,
    "μs": 1,
    "ms": 1_000,
    "s": 1_000_000,
    "m": 60_000_000,
    "h": 3_600_000_000,
}


def _envelope(data: Any, *, total: int = 0, status: int = 200, error: str | None = None) -> web.Response:
    errors = None if error is None else [{"code": status, "msg": error}]
    body = {"data": data, "total": total, "limit": 0, "offset": 0, "errors": errors}
    return web.json_response(body, status=status)


def _parse_go_duration(text: str) -> int:
    """Go's ``time.ParseDuration`` (as Jaeger uses for min/maxDuration), in microseconds."""
    sign, rest = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
    if rest == "0":
        return 0
    parts = _DURATION.findall(rest)
    if not rest or "".join(n + u for n, u in parts) != rest:
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * int(sum(float(n) * _UNIT_US[u] for n, u in parts))


def _trace_query(request: web.Request) -> TraceQuery:
    """Jaeger's query parser, with its error texts; raises ``ValueError`` carrying the message."""
    q = request.query
    now_us = int(time.time() * 1_000_000)

    def integer(name: str, default: int) -> int:
        raw = q.get(name, "")
        try:
            return int(raw) if raw else default
        except ValueError:
            raise ValueError(
                f"unable to parse param '{name}': strconv.ParseInt: parsing {raw!r}: invalid syntax"
            ) from None

    def duration(name: str) -> int:
        raw = q.get(name, "")
        try:
            return _parse_go_duration(raw) if raw else 0
        except ValueError as exc:
            raise ValueError(f"unable to parse param '{name}': {exc}") from None

    end = integer("end", now_us)
    start = integer("start", now_us - DEFAULT_LOOKBACK_US)
    tags: dict[str, str] = {}
    for tag in q.getall("tag", []):
        key, sep, value = tag.partition(":")
        if not sep:
            raise ValueError(f"malformed 'tag' parameter, expecting key:value, received: {tag}")
        tags[key] = value
    for blob in q.getall("tags", []):
        try:
            parsed = json.loads(blob)
        except ValueError as exc:
            raise ValueError(f"malformed 'tags' parameter, cannot unmarshal JSON: {exc}") from None
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise ValueError("malformed 'tags' parameter, cannot unmarshal JSON: expected a map of strings")
        tags.update(parsed)
    limit = integer("limit", 100)
    min_d, max_d = duration("minDuration"), duration("maxDuration")
    trace_ids = []
    for raw_id in q.getall("traceID", []):
        full = normalise_trace_id(raw_id)
        if full is None:
            raise ValueError(f"cannot parse traceID param: {raw_id!r} is not a valid trace ID")
        trace_ids.append(full)
    if not trace_ids and not q.get("service", ""):
        raise ValueError("parameter 'service' is required")
    if min_d and max_d and max_d < min_d:
        raise ValueError("'maxDuration' should be greater than 'minDuration'")
    service, operation = q.get("service", ""), q.get("operation", "")
    return TraceQuery(service, start, end, operation, tags, min_d, max_d, limit, tuple(trace_ids))


async def _index(request: web.Request) -> web.Response:
    return web.Response(text=_INDEX_HTML, content_type="text/html")


async def _services(request: web.Request) -> web.Response:
    services = request.app[STORE_KEY].services()
    return _envelope(services, total=len(services))


async def _service_operations(request: web.Request) -> web.Response:
    names = sorted({name for name, _ in request.app[STORE_KEY].operations(request.match_info["service"])})
    return _envelope(names, total=len(names))


async def _operations(request: web.Request) -> web.Response:
    service = request.query.get("service", "")
    if not service:
        return _envelope(None, status=400, error="parameter 'service' is required")
    kind = request.query.get("spanKind", "")
    ops = [
        {"name": name, "spanKind": k} for name, k in request.app[STORE_KEY].operations(service) if not kind or k == kind
    ]
    return _envelope(ops, total=len(ops))


async def _traces(request: web.Request) -> web.Response:
    try:
        query = _trace_query(request)
    except ValueError as exc:
        return _envelope(None, status=400, error=str(exc))
    return _envelope(request.app[STORE_KEY].find(query))


async def _trace(request: web.Request) -> web.Response:
    trace_id = request.match_info["trace_id"]
    trace = request.app[STORE_KEY].get(trace_id)
    if trace is None:
        return _envelope(None, status=404, error="trace not found")
    return _envelope([trace])


@web.middleware
async def _self_tracing(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Record a span per API request under ``jaeger-all-in-one``, as the real all-in-one traces itself."""
    start = time.time_ns()
    response = await handler(request)
    store = request.app[STORE_KEY]
    if store.self_service and request.path.startswith("/api/"):
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else request.path
        tags = {"http.method": request.method, "http.route": route, "http.target": request.path_qs}
        store.record_self_span(route, start, time.time_ns(), tags, response.status)
    return response


def create_query_app(store: TraceStore) -> web.Application:
    """Jaeger's query service (16686): the HTTP JSON API the UI and floe-agents read."""
    app = web.Application(middlewares=[_self_tracing])
    app[STORE_KEY] = store
    app.router.add_get("/", _index)
    app.router.add_get("/api/services", _services)
    app.router.add_get("/api/services/{service}/operations", _service_operations)
    app.router.add_get("/api/operations", _operations)
    app.router.add_get("/api/traces", _traces)
    app.router.add_get("/api/traces/{trace_id}", _trace)
    return app


async def _admin_health(request: web.Request) -> web.Response:
    started = request.app[STARTED_KEY]
    body = {
        "status": "Server available",
        "upSince": datetime.fromtimestamp(started, UTC).isoformat().replace("+00:00", "Z"),
        "uptime": f"{time.time() - started:.6f}s",
    }
    return web.json_response(body)


def create_admin_app() -> web.Application:
    """Jaeger's admin port (14269): ``GET /`` answers the health-check JSON."""
    app = web.Application()
    app[STARTED_KEY] = time.time()
    app.router.add_get("/", _admin_health)
    return app


@dataclass(frozen=True)
class JaegerURLs:
    """Where a running stand-in listens. ``otlp_http`` is a base URL: traces go to ``otlp_http_traces``."""

    query: str
    otlp_http: str
    otlp_grpc: str | None
    admin: str | None
    store: TraceStore

    @property
    def otlp_http_traces(self) -> str:
        return f"{self.otlp_http}/v1/traces"


@asynccontextmanager
async def run_jaeger(
    *,
    query_port: int = 0,
    otlp_http_port: int = 0,
    otlp_grpc_port: int | None = 0,
    admin_port: int | None = None,
    state_file: str | None = None,
    self_tracing: bool = True,
) -> AsyncIterator[JaegerURLs]:
    """Run the stand-in in this event loop. Ports 0 = OS-chosen; ``None`` turns gRPC or admin off."""
    store = TraceStore(
        JsonStateFile(state_file) if state_file else None,
        self_service=SELF_SERVICE if self_tracing else None,
    )
    async with AsyncExitStack() as stack:
        query = await stack.enter_async_context(serve_app(create_query_app(store), query_port))
        otlp_http = await stack.enter_async_context(serve_app(create_otlp_http_app(store), otlp_http_port))
        otlp_grpc = (
            None if otlp_grpc_port is None else await stack.enter_async_context(grpc_server(store, otlp_grpc_port))
        )
        admin = (
            None if admin_port is None else await stack.enter_async_context(serve_app(create_admin_app(), admin_port))
        )
        yield JaegerURLs(query, otlp_http, otlp_grpc, admin, store)


def ready_line(urls: JaegerURLs) -> str:
    extras = [f"otlp_http={urls.otlp_http}"]
    if urls.otlp_grpc:
        extras.append(f"otlp_grpc={urls.otlp_grpc}")
    if urls.admin:
        extras.append(f"admin={urls.admin}")
    return " ".join(["READY", urls.query, *extras])
