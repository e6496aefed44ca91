"""Re-execute the failed run of a job once what broke it is fixed: the proof that the data path works again.

Why a remediation and not a check: after a secret is created or the catalog repaired, the job's latest run is
still the one that failed — nothing shows the platform works until the job runs again, which is what the seed
report's author did by hand. Re-executing the failed run (Dagster's own "Re-execute → All steps", through the
webserver's GraphQL API, ``launchRunReexecution``) keeps its job, code location and config without naming them.
The step waits for the new run to finish: success is the change; a failure is a failed step quoting the run.
Planning reads the job's latest finished run and plans nothing when it succeeded, so a second heal is a no-op.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, Field

from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.remediation import Action, Change, Params, Step, remediation

__all__ = ["rerun_failed_job"]

COMPONENT = "dagster-webserver"
FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
_POLL_S = 1.0

LATEST = """
query Latest($job: String!) {
  runsOrError(filter: {pipelineName: $job, statuses: [SUCCESS, FAILURE, CANCELED]}, limit: 1) {
    __typename
    ... on Runs { results { runId status } }
    ... on PythonError { message }
  }
}
"""
RERUN = """
mutation Rerun($parent: String!) {
  launchRunReexecution(reexecutionParams: {parentRunId: $parent, strategy: ALL_STEPS}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""
STATUS = "query Status($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Run(_Model):
    run_id: str = Field(alias="runId")
    status: str | None = None


class _Runs(_Model):
    typename: str = Field(alias="__typename")
    message: str | None = None
    results: list[_Run] = []


class _Launched(_Model):
    typename: str = Field(alias="__typename")
    message: str | None = None
    run: _Run | None = None
    errors: list[dict[str, Any]] = []


class RerunParams(Params):
    job: str = Field(min_length=1, description="The job whose latest run failed (the finding's subject).")
    run_id: str = Field(min_length=1, description="That failed run: the parent of the re-execution.")
    wait_seconds: float = Field(default=300.0, gt=0, le=3600)


async def _graphql(ctx: HealContext, query: str, variables: dict[str, str]) -> dict[str, Any]:
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
        raise RemediationError(
            f"{url}: GraphQL errors: {str(body.get('errors') if isinstance(body, dict) else body)[:300]}"
        )
    return data


async def _latest(ctx: HealContext, job: str) -> _Run | None:
    runs = _Runs.model_validate((await _graphql(ctx, LATEST, {"job": job}))["runsOrError"])
    if runs.typename != "Runs":
        raise RemediationError(f"Dagster would not list the runs of {job}: {runs.message}")
    return runs.results[0] if runs.results else None


async def _wait(ctx: HealContext, run_id: str, wait_s: float) -> str:
    status = "UNKNOWN"
    with anyio.move_on_after(wait_s):
        while status not in FINISHED:
            answer = (await _graphql(ctx, STATUS, {"id": run_id}))["runOrError"]
            status = str(answer.get("status") or answer.get("__typename") or "UNKNOWN")
            if status not in FINISHED:
                await anyio.sleep(_POLL_S)
    return status


@remediation("dagster.rerun_failed_job", params=RerunParams, risk="low")
async def rerun_failed_job(ctx: HealContext, params: RerunParams) -> list[Step]:
    """Re-execute a job's failed latest run (all steps) and wait for it to succeed."""
    latest = await _latest(ctx, params.job)
    if latest is None or latest.status == "SUCCESS":
        return []
    parent = latest.run_id  # the newest finished run: the finding's run, or a later failure
    action = Action(
        kind="http",
        verb="run",
        target=f"POST {COMPONENT} /graphql launchRunReexecution(parentRunId={parent}, strategy=ALL_STEPS)",
        summary=f"re-execute {params.job} run {parent} (all steps) and wait for it to finish",
        body={"query": "launchRunReexecution", "variables": {"parent": parent}},
        undo=None,
    )

    async def run() -> Change:
        launched = _Launched.model_validate((await _graphql(ctx, RERUN, {"parent": parent}))["launchRunReexecution"])
        if launched.typename != "LaunchRunSuccess" or launched.run is None:
            detail = launched.message or "; ".join(str(e.get("message")) for e in launched.errors)
            raise RemediationError(f"Dagster refused the re-execution: {launched.typename}: {detail}"[:400])
        new_id = launched.run.run_id
        status = await _wait(ctx, new_id, params.wait_seconds)
        if status != "SUCCESS":
            raise RemediationError(f"the re-execution {new_id} of {params.job} ended {status}; its log says why")
        before = {"run_id": parent, "status": latest.status}
        return Change(action=action, before=before, after={"run_id": new_id, "status": status})

    return [Step(action=action, run=run)]
