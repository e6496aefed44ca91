"""Launching and following the demo pipeline through Dagster's GraphQL API, as the seed report's author did.

A lab with no run history cannot show failed steps, traces or lineage; one run of ``demo_pipeline`` after
``lab up`` gives the probes what a real platform would have. Only the public GraphQL API is used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import httpx

from floe_lab.names import LabNames

__all__ = ["LAUNCH", "RELOAD", "RUN_STATUS", "launch_demo_run", "wait_for_run"]

Say = Callable[[str], None]
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchPipelineExecution(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
  }
}
"""
# The UI's "Reload" button: the webserver reads the code location again (it keeps a failed first load otherwise).
RELOAD = """
mutation Reload($location: String!) {
  reloadRepositoryLocation(repositoryLocationName: $location) {
    __typename
    ... on WorkspaceLocationEntry { locationOrLoadError { __typename ... on PythonError { message } } }
  }
}
"""
# A location that failed to load only because its code server did not listen yet loads on a later reload.
_NOT_YET = ("UserCodeUnreachable", "UNAVAILABLE")
RUN_STATUS = "query Run($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"
FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})


def _webserver(ports: Mapping[str, Mapping[str, int]], names: LabNames) -> str:
    return f"http://127.0.0.1:{ports[names.webserver]['http']}"


async def launch_demo_run(
    ports: Mapping[str, Mapping[str, int]],
    names: LabNames,
    say: Say,
    job: str = "demo_pipeline",
    *,
    patience_s: float = 120.0,
) -> str | None:
    """Launch ``job`` in the lab's code location (``floe-demo`` by default); None (and a message) if the webserver
    cannot take it.

    A webserver that started before the code server listened keeps that failed load of the location (on a busy
    machine, for good): the launch is then refused with PipelineNotFoundError, and is retried for ``patience_s``
    after asking the webserver to reload the location, as an operator presses "Reload" in the UI. A location that
    then fails to load for any reason but an unreachable code server (no storage schema) ends the wait at once.
    """
    location = names.code_location
    params: dict[str, Any] = {
        "selector": {"repositoryLocationName": location, "repositoryName": "__repository__", "pipelineName": job},
        "runConfigData": {},
    }
    problem = "not tried"
    with anyio.move_on_after(patience_s):
        while True:
            try:
                async with httpx.AsyncClient(timeout=15) as http:
                    response = await http.post(
                        f"{_webserver(ports, names)}/graphql", json={"query": LAUNCH, "variables": {"params": params}}
                    )
                    result = response.json()["data"]["launchPipelineExecution"]
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, httpx.ConnectError):
                    break  # nothing listens (the webserver pod is down): retrying cannot help
            else:
                if result["__typename"] == "LaunchRunSuccess":
                    run_id = str(result["run"]["runId"])
                    say(f"dagster: launched {job} run {run_id}")
                    return run_id
                problem = f"{result['__typename']}: {result.get('message', '')}"
                if result["__typename"] == "PipelineNotFoundError":
                    failed = await _reload(_webserver(ports, names), location)
                    if failed is not None and not any(mark in failed for mark in _NOT_YET):
                        problem = f"code location {location} failed to load: {failed.strip().splitlines()[0]}"
                        break  # a real load error (e.g. no storage schema): waiting cannot help
            await anyio.sleep(1.0)
    say(f"dagster: could not launch {job}: {problem}")
    return None


async def _reload(webserver: str, location: str) -> str | None:
    """Ask the webserver to read the location again; the error it then fails to load with, if any."""
    with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                f"{webserver}/graphql", json={"query": RELOAD, "variables": {"location": location}}
            )
        loaded = response.json()["data"]["reloadRepositoryLocation"].get("locationOrLoadError") or {}
        if loaded.get("__typename") == "PythonError":
            return str(loaded.get("message") or "PythonError")
    return None


async def wait_for_run(webserver: str, run_id: str, *, timeout_s: float = 90.0) -> str:
    """Poll the run's status until it finishes; returns SUCCESS/FAILURE/CANCELED (or the last status)."""
    status = "UNKNOWN"
    async with httpx.AsyncClient(timeout=10) as http:
        with anyio.move_on_after(timeout_s):
            while status not in FINISHED:
                response = await http.post(
                    f"{webserver}/graphql", json={"query": RUN_STATUS, "variables": {"id": run_id}}
                )
                status = str(response.json()["data"]["runOrError"].get("status", "UNKNOWN"))
                if status not in FINISHED:
                    await anyio.sleep(0.5)
    return status
