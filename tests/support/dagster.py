"""A fake Dagster webserver for the dagster and dagster_runs probe tests: the states the lab's real Dagster does
not reach (code location errors, unhealthy daemons, storage faults, run histories), served as Dagster 1.13 answers
them, and the builders of those answers.

``async with fake_dagster(workspace=workspace(...)) as url:`` answers every query kind not given like a healthy
Dagster (``HEALTHY``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from tests.support.net import serve

VERSIONS = {"dagster_webserver_version": "1.13.27", "dagster_version": "1.13.27", "dagster_graphql_version": "1.13.27"}
LOADED = {
    "name": "floe-demo",
    "loadStatus": "LOADED",
    "locationOrLoadError": {
        "__typename": "RepositoryLocation",
        "repositories": [{"name": "__repository__", "jobs": [{"name": "demo_pipeline"}]}],
    },
}


def daemon(kind: str, healthy: bool = True, beat: float | None = 0.0, errors: tuple[str, ...] = ()) -> dict[str, Any]:
    """One daemon's status, its last heartbeat ``beat`` seconds ago (None: never)."""
    return {
        "daemonType": kind,
        "required": True,
        "healthy": healthy,
        "lastHeartbeatTime": None if beat is None else time.time() - beat,
        "lastHeartbeatErrors": [{"message": e} for e in errors],
    }


def workspace(*entries: Any) -> dict[str, Any]:
    return {"data": {"workspaceOrError": {"__typename": "Workspace", "locationEntries": list(entries)}}}


def daemons(*statuses: Any) -> dict[str, Any]:
    return {"data": {"instance": {"daemonHealth": {"allDaemonStatuses": list(statuses)}}}}


def gql_error(message: str) -> tuple[int, dict[str, Any]]:
    """How Dagster's webserver answers a resolver exception: HTTP 500 with the Python error in extensions."""
    info = {"__class__": "SerializableErrorInfo", "message": message + "\n", "stack": []}
    return 500, {"data": None, "errors": [{"message": message.split(": ", 1)[-1], "extensions": {"errorInfo": info}}]}


HEALTHY: dict[str, Any] = {
    "server_info": VERSIONS,
    "version": {"data": {"version": "1.13.27"}},
    "workspace": workspace(LOADED),
    "daemons": daemons(daemon("SCHEDULER"), daemon("SENSOR"), daemon("QUEUED_RUN_COORDINATOR")),
    "runs": {"data": {"runsOrError": {"__typename": "Runs", "results": []}}},
    "logs": {"data": {}},
}
MARKERS = (
    ("logs", "logsForRun"),
    ("runs", "runsOrError"),
    ("workspace", "workspaceOrError"),
    ("daemons", "daemonHealth"),
)


@asynccontextmanager
async def fake_dagster(prefix: str = "", **answers: Any) -> AsyncIterator[str]:
    """A Dagster webserver stand-in: each query kind answers the given JSON body, ``(status, body)``, or a
    callable of the GraphQL variables returning either; anything not given answers like a healthy Dagster."""
    table = {**HEALTHY, **answers}

    def reply(key: str, variables: dict[str, Any]) -> web.Response:
        answer = table[key]
        answer = answer(variables) if callable(answer) else answer
        status, body = answer if isinstance(answer, tuple) else (200, answer)
        return web.json_response(body, status=status)

    async def server_info(request: web.Request) -> web.Response:
        return reply("server_info", {})

    async def graphql(request: web.Request) -> web.Response:
        body = await request.json()
        key = next((k for k, marker in MARKERS if marker in body["query"]), "version")
        return reply(key, body.get("variables") or {})

    app = web.Application()
    app.router.add_get(f"{prefix}/server_info", server_info)
    app.router.add_post(f"{prefix}/graphql", graphql)
    async with serve(app) as base:
        yield f"{base}{prefix}"


__all__ = ["HEALTHY", "LOADED", "VERSIONS", "daemon", "daemons", "fake_dagster", "gql_error", "workspace"]
