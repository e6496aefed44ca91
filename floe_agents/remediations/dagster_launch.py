"""Launch the first run of each job that has never run, and wait for it: the proof a healed platform works.

Why: a Dagster whose storage was just migrated (or a fresh deployment) has no run history, so Jaeger and Marquez
have nothing to show and the diagnosis can only say "not judged yet" — exactly where the seed report's author
launched the pipeline by hand. The jobs are read from the webserver's own code locations (GraphQL
``repositoriesOrError``), never named here; Dagster's implicit jobs (``__ASSET_JOB``...) are left alone, and so is
any job that already has a run (one in progress is waited for by the verification, not launched again). Planning
reads only; a job launched and succeeded plans nothing the next time. With ``even_if_run`` every job is launched:
a playbook that changed what a run does (its telemetry settings) proves the change with a run.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.remediation import Action, Change, Params, Step, remediation
from floe_agents.remediations._dagster import COMPONENT, LAUNCH_ANSWER, graphql, latest_run, launch, wait_for

__all__ = ["spec"]

JOBS = """
query Jobs {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name } jobs { name } } }
    ... on PythonError { message }
  }
}
"""
LAUNCH = (
    """
mutation Launch($selector: JobOrPipelineSelector!) {
  launchRun(executionParams: {selector: $selector, runConfigData: {}}) {
"""
    + LAUNCH_ANSWER
    + """
  }
}
"""
)


class LaunchParams(Params):
    jobs: list[str] = Field(default_factory=list, description="Only these jobs (default: every job never run).")
    even_if_run: bool = Field(
        default=False,
        description="Launch jobs that have run too (a playbook that changed what a run does, and proves it by one).",
    )
    wait_seconds: float = Field(default=300.0, gt=0, le=3600)


async def _jobs(ctx: HealContext) -> list[dict[str, str]]:
    answer = (await graphql(ctx, JOBS, {}))["repositoriesOrError"]
    if not isinstance(answer, dict) or answer.get("__typename") != "RepositoryConnection":
        message = answer.get("message") if isinstance(answer, dict) else answer
        raise RemediationError(f"Dagster would not list its code locations: {message}")
    found: list[dict[str, str]] = []
    for repo in answer.get("nodes") or []:
        location = str((repo.get("location") or {}).get("name") or "")
        for job in repo.get("jobs") or []:
            name = str(job.get("name") or "")
            if name and not name.startswith("__"):
                found.append({"repositoryLocationName": location, "repositoryName": str(repo["name"]), "jobName": name})
    return found


@remediation("dagster.launch_first_runs", params=LaunchParams, risk="low")
async def spec(ctx: HealContext, params: LaunchParams) -> list[Step]:
    """Launch each job that has never run (from the webserver's code locations) and wait for it to succeed."""
    wanted = set(params.jobs)
    steps: list[Step] = []
    for selector in await _jobs(ctx):
        job = selector["jobName"]
        if wanted and job not in wanted:
            continue
        if not params.even_if_run and await latest_run(ctx, job, finished=False) is not None:
            continue
        where = f"{selector['repositoryLocationName']}/{selector['repositoryName']}"
        what = "a run" if params.even_if_run else "the first run"
        action = Action(
            kind="http",
            verb="run",
            target=f"POST {COMPONENT} /graphql launchRun({where}/{job})",
            summary=f"launch {what} of {job} ({where}) and wait for it to finish",
            body={"query": "launchRun", "variables": {"selector": selector}},
        )
        steps.append(Step(action=action, run=_runner(ctx, action, selector, params.wait_seconds)))
    return steps


def _runner(ctx: HealContext, action: Action, selector: dict[str, str], wait_s: float) -> Any:
    async def run() -> Change:
        where = selector["repositoryLocationName"]
        run_id = await launch(ctx, LAUNCH, "launchRun", {"selector": selector}, what="launch", location=where)
        status = await wait_for(ctx, run_id, wait_s)
        if status != "SUCCESS":
            raise RemediationError(f"run {run_id} of {selector['jobName']} ended {status}; its log says why")
        return Change(action=action, before={"runs": 0}, after={"run_id": run_id, "status": status})

    return run
