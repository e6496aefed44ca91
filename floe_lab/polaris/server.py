"""Assembly: the API port (Iceberg REST + management) and the management port (Quarkus health), on loopback.

Why two ports: Polaris serves clients on 8181 and health on 8182, and Floe's checks (the validate job, the
chart's probes) look at ``:8182/q/health/ready``. Readiness depends on the persistence database, as with
Quarkus' datasource health check: 503 ``DOWN`` while the database is unreachable. Startup needs the database
(tables, the bootstrapped root principal); a stand-in that cannot reach it fails to start, like the real pod.

Every API request is authenticated (401 with an empty body and ``WWW-Authenticate: Bearer``, as Polaris on
Quarkus answers) except the token endpoint, every error leaves as Polaris's ErrorModel, and each request is
written to the access log.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, TextIO

import anyio
from aiohttp import web
from aiohttp.typedefs import Middleware
from pyiceberg.catalog.sql import SqlCatalogBaseTable
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError

from floe_lab.polaris import errors, lab_api, mgmt_catalogs, mgmt_principals, mgmt_roles, rest_api
from floe_lab.polaris.auth import ROOT, SERVICE_ADMIN, TokenBroker, hash_secret
from floe_lab.polaris.config import POLARIS_VERSION, BootstrapCredentials, PolarisConfig
from floe_lab.polaris.sdk import Credentials, PodSdk
from floe_lab.polaris.services import ServiceTable
from floe_lab.polaris.state import PRINCIPAL, PolarisState, ServerLog
from floe_lab.polaris.store import Entity, EntityStore

__all__ = ["LOOPBACK", "RunningPolaris", "StartupError", "run_polaris"]

LOOPBACK = "127.0.0.1"
_MAPPER = "org.apa.pol.ser.exc.IcebergExceptionMapper"
_DB_CHECK = "Database connections health check"
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class StartupError(RuntimeError):
    """The stand-in could not start (its persistence database is unreachable)."""


@dataclass(frozen=True)
class RunningPolaris:
    """A started stand-in: base URLs of both ports and its state (log, services table, store)."""

    url: str
    mgmt_url: str
    state: PolarisState

    @property
    def catalog_uri(self) -> str:
        """What pyiceberg's ``RestCatalog(uri=...)`` takes."""
        return f"{self.url}/api/catalog"

    def logs(self) -> list[str]:
        return self.state.log.lines()


def _engine(db_url: str) -> Engine:
    connect_args: dict[str, Any] = {}
    if db_url.startswith("postgresql"):
        connect_args["connect_timeout"] = 5
    elif db_url.startswith("sqlite"):
        connect_args["check_same_thread"] = False
    return create_engine(db_url, pool_pre_ping=True, connect_args=connect_args)


def _bootstrap(state: PolarisState, config: PolarisConfig) -> None:
    """Create the tables, then the root principal with ``service_admin`` (once; credentials follow config)."""
    state.store.create_tables()
    SqlCatalogBaseTable.metadata.create_all(state.engine)
    store = state.store
    now = int(time.time() * 1000)
    store.insert(Entity("principal_role", "", SERVICE_ADMIN, {"properties": {}}, 1, now, now))
    existing = store.get("principal", ROOT)
    if not config.bootstrap and existing is None:
        # Like Polaris without POLARIS_BOOTSTRAP_CREDENTIALS: random root credentials, printed to the log.
        client_id, secret = secrets.token_hex(8), secrets.token_hex(16)
        state.log.log(
            "INFO",
            "org.apa.pol.ser.con.ServiceProducers",
            f"realm: POLARIS root principal credentials: {client_id}:{secret}",
        )
        config = replace(config, bootstrap=(BootstrapCredentials("POLARIS", client_id, secret),))
    for creds in config.bootstrap[:1]:  # one realm: the stand-in serves POLARIS only
        payload = {"properties": {}, "clientId": creds.client_id, "secretHash": hash_secret(creds.client_secret)}
        if existing is None:
            store.insert(Entity("principal", "", ROOT, payload, 1, now, now))
        elif existing.payload != payload:
            store.replace_if_version(
                Entity("principal", "", ROOT, payload, existing.entity_version + 1, existing.create_ts, now),
                existing.entity_version,
            )
        store.link("principal-role", ROOT, SERVICE_ADMIN)


def _error_response(state: PolarisState, err: errors.PolarisError) -> web.Response:
    state.log.log("INFO", _MAPPER, f"Handling runtimeException {err.message}")
    if err.stack:
        state.log.log("INFO", _MAPPER, "Full RuntimeException: " + "\n".join(err.stack))
    return web.json_response(err.body(), status=err.status)


def _middleware(state: PolarisState) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
        user = "-"
        response: web.StreamResponse
        state.requests.observe(
            request.method, request.path, request.headers.get("User-Agent"), token_path=rest_api.TOKEN_PATH
        )
        try:
            if request.path == rest_api.TOKEN_PATH or request.path.startswith(lab_api.LAB_PREFIX):
                response = await handler(request)
            else:
                principal = state.broker.authenticate(request.headers.get("Authorization"))
                if principal is None:
                    response = web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
                else:
                    user = principal.name
                    request[PRINCIPAL] = principal
                    response = await handler(request)
        except errors.PolarisError as err:
            response = _error_response(state, err)
        except errors.SdkError as err:  # storage failure that escaped a handler's own mapping
            response = _error_response(state, errors.storage_error(err))
        except errors.OAuthError as err:
            response = web.json_response(err.body(), status=err.status)
        except web.HTTPNotFound:  # no such route: JAX-RS's NotFoundException through IcebergExceptionMapper
            response = web.json_response(errors.not_found("HTTP 404 Not Found").body(), status=404)
        except web.HTTPMethodNotAllowed:
            error = errors.PolarisError(405, "NotAllowedException", "HTTP 405 Method Not Allowed")
            response = web.json_response(error.body(), status=405)
        except web.HTTPException as exc:
            response = exc
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            response = _error_response(
                state, errors.PolarisError(500, "RuntimeException", f"Failed to execute query: {detail}")
            )
        except Exception as exc:  # the mapper's default branch
            state.log.log("ERROR", _MAPPER, f"Unhandled exception returning INTERNAL_SERVER_ERROR: {exc!r}")
            response = web.json_response(errors.PolarisError(500, type(exc).__name__, str(exc)).body(), status=500)
        size = getattr(response, "content_length", None) or 0
        state.log.access(
            request.remote or "-", user, f"{request.method} {request.path_qs} HTTP/1.1", response.status, size
        )
        return response

    return middleware


def _health_app(state: PolarisState) -> web.Application:
    async def db_check() -> dict[str, Any]:
        failure = "timed out"
        with anyio.move_on_after(6):
            try:
                await anyio.to_thread.run_sync(state.store.ping, abandon_on_cancel=True)
            except SQLAlchemyError as exc:
                failure = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            else:
                return {"name": _DB_CHECK, "status": "UP", "data": {"<default>": "UP"}}
        message = f"Unable to execute the validation check for the default DataSource: {failure}"
        return {"name": _DB_CHECK, "status": "DOWN", "data": {"<default>": message}}

    async def ready(request: web.Request) -> web.Response:
        check = await db_check()
        status = check["status"]
        return web.json_response({"status": status, "checks": [check]}, status=200 if status == "UP" else 503)

    async def live(request: web.Request) -> web.Response:
        return web.json_response({"status": "UP", "checks": []})

    app = web.Application()
    app.add_routes(
        [
            web.get("/q/health", ready),
            web.get("/q/health/ready", ready),
            web.get("/q/health/live", live),
            web.get("/q/health/started", live),
        ]
    )
    return app


def _api_app(state: PolarisState) -> web.Application:
    app = web.Application(middlewares=[_middleware(state)], client_max_size=64 * 1024 * 1024)
    app.add_routes(
        rest_api.routes(state)
        + mgmt_catalogs.routes(state)
        + mgmt_principals.routes(state)
        + mgmt_roles.routes(state)
        + lab_api.routes(state.requests)
    )
    return app


@asynccontextmanager
async def _serve(app: web.Application, port: int) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
        await web.SockSite(runner, sock).start()
        yield f"http://{LOOPBACK}:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
        sock.close()


@asynccontextmanager
async def run_polaris(config: PolarisConfig, log_stream: TextIO | None = None) -> AsyncIterator[RunningPolaris]:
    """Run the stand-in in this event loop for the duration of the block."""
    engine = _engine(config.db_url)
    static = None
    if config.aws_access_key_id and config.aws_secret_access_key:
        static = Credentials(config.aws_access_key_id, config.aws_secret_access_key, config.aws_session_token)
    store = EntityStore(engine)
    state = PolarisState(
        engine=engine,
        store=store,
        broker=TokenBroker(store),
        sdk=PodSdk(ServiceTable(config.services_file)),
        static_credentials=static,
        default_region=config.aws_region,
        log=ServerLog(log_stream),
    )
    try:
        try:
            await state.run(_bootstrap, state, config)
        except SQLAlchemyError as exc:
            raise StartupError(f"persistence database unreachable: {exc}") from exc
        async with AsyncExitStack() as stack:
            url = await stack.enter_async_context(_serve(_api_app(state), config.port))
            mgmt = await stack.enter_async_context(_serve(_health_app(state), config.mgmt_port))
            state.log.log(
                "INFO",
                "io.quarkus",
                f"Apache Polaris Server {POLARIS_VERSION} on JVM (powered by Quarkus; a floe-lab stand-in) started. "
                f"Listening on: {url}. Management interface listening on {mgmt}.",
            )
            yield RunningPolaris(url, mgmt, state)
    finally:
        state.sdk.pool.close()
        engine.dispose()
