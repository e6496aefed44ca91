"""Dagster's webserver GraphQL API as the Dagster remediations use it: one call, the latest run of a job, a launch
answer read, a run waited for. Typed where the answer is read, bounded where it is waited for."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from floe_agents.heal_context import HealContext, RemediationError

__all__ = ["COMPONENT", "FINISHED", "LAUNCH_ANSWER", "graphql", "latest_run", "launch", "wait_for"]

COMPONENT = "dagster-webserver"
FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
_POLL_S = 1.0

_LATEST = """
query Latest($job: String!, $statuses: [RunStatus!]) {
  runsOrError(filter: {pipelineName: $job, statuses: $statuses}, limit: 1) {
    __typename
    ... on Runs { results { runId status repositoryOrigin { repositoryLocationName } } }
    ... on PythonError { message }
  }
}
"""
# What a launch mutation (launchRun, launchRunReexecution) may answer, as a GraphQL selection.
LAUNCH_ANSWER = """
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
"""
# The UI's "Reload" button: the webserver reconnects to the code location's server and reads it again.
_RELOAD = """
mutation Reload($location: String!) {
  reloadRepositoryLocation(repositoryLocationName: $location) {
    __typename
    ... on WorkspaceLocationEntry { loadStatus }
    ... on PythonError { message }
  }
}
"""
_STATUS = "query Status($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Origin(_Model):
    location: str = Field(alias="repositoryLocationName")


class Run(_Model):
    run_id: str = Field(alias="runId")
    status: str | None = None
    origin: _Origin | None = Field(None, alias="repositoryOrigin")


class _Runs(_Model):
    typename: str = Field(alias="__typename")
    message: str | None = None
    results: list[Run] = []


class _Launched(_Model):
    typename: str = Field(alias="__typename")
    message: str | None = None
    run: Run | None = None
    errors: list[dict[str, Any]] = []


async def graphql(ctx: HealContext, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of one GraphQL call to the webserver; RemediationError with the reason otherwise."""
    base = ctx.url(COMPONENT)
    if base is None:
        raise RemediationError(f"no URL for {COMPONENT} from vantage {ctx.targets.vantage!r} in the targets file")
    url = str(base).rstrip("/") + "/graphql"
    try:
        response = await ctx.http.post(url, json={"query": query, "variables": variables}, timeout=30)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RemediationError(f"{url}: {type(exc).__name__}: {exc}") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        errors = body.get("errors") if isinstance(body, dict) else body
        raise RemediationError(f"{url}: GraphQL errors: {str(errors)[:300]}")
    return data


async def latest_run(ctx: HealContext, job: str, *, finished: bool = True) -> Run | None:
    """The job's newest run (only finished ones when ``finished``), or None when it has none."""
    statuses = sorted(FINISHED) if finished else None
    runs = _Runs.model_validate((await graphql(ctx, _LATEST, {"job": job, "statuses": statuses}))["runsOrError"])
    if runs.typename != "Runs":
        raise RemediationError(f"Dagster would not list the runs of {job}: {runs.message}")
    return runs.results[0] if runs.results else None


def _launched(answer: Any, what: str) -> _Launched:
    try:
        return _Launched.model_validate(answer)
    except ValidationError:
        raise RemediationError(f"Dagster answered the {what} with something unknown: {str(answer)[:200]}") from None


def _run_id(launched: _Launched, what: str) -> str:
    """The run id a launch mutation answered with; RemediationError quoting Dagster's refusal otherwise."""
    if launched.typename != "LaunchRunSuccess" or launched.run is None:
        detail = launched.message or "; ".join(str(e.get("message")) for e in launched.errors)
        raise RemediationError(f"Dagster refused the {what}: {launched.typename}: {detail}"[:400])
    return launched.run.run_id


async def launch(
    ctx: HealContext,
    mutation: str,
    field: str,
    variables: dict[str, Any],
    *,
    what: str,
    location: str | None,
    patience_s: float = 120.0,
) -> str:
    """Send a launch mutation (``field`` is its one field) and return the new run's id, riding out a reload.

    Why the patience: a step that just restarted the user code (new env, a migrated instance) leaves the webserver
    holding the old code server's connection, and it refuses launches with ``PipelineNotFoundError`` until it
    reads the location again. That refusal is answered as the UI's "Reload" button does (when the location is
    known) and the launch is retried for ``patience_s``; any other refusal is final at once.
    """
    refused = "no answer"
    with anyio.move_on_after(patience_s):
        while True:
            answer = (await graphql(ctx, mutation, variables)).get(field)
            launched = _launched(answer, what)
            if launched.typename != "PipelineNotFoundError":
                return _run_id(launched, what)
            refused = str(launched.message)
            if location is not None:
                await graphql(ctx, _RELOAD, {"location": location})
            await anyio.sleep(_POLL_S)
    raise RemediationError(f"Dagster refused the {what} for {patience_s:.0f}s: PipelineNotFoundError: {refused}"[:400])


async def wait_for(ctx: HealContext, run_id: str, wait_s: float) -> str:
    """Poll the run until it finishes (or ``wait_s`` passes); its last status."""
    status = "UNKNOWN"
    with anyio.move_on_after(wait_s):
        while status not in FINISHED:
            answer = (await graphql(ctx, _STATUS, {"id": run_id}))["runOrError"]
            status = str(answer.get("status") or answer.get("__typename") or "UNKNOWN")
            if status not in FINISHED:
                await anyio.sleep(_POLL_S)
    return status
