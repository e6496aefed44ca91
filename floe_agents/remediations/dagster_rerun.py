"""Re-execute the failed run of a job once what broke it is fixed: the proof that the data path works again.

Why a remediation and not a check: after a secret is created or the catalog repaired, the job's latest run is
still the one that failed — nothing shows the platform works until the job runs again, which is what the seed
report's author did by hand. Re-executing the failed run (Dagster's own "Re-execute → All steps", through the
webserver's GraphQL API, ``launchRunReexecution``) keeps its job, code location and config without naming them.
The step waits for the new run to finish: success is the change; a failure is a failed step quoting the run.
Planning reads the job's latest finished run and plans nothing when it succeeded, so a second heal is a no-op.
"""

from __future__ import annotations

from pydantic import Field

from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.remediation import Action, Change, Params, Step, remediation
from floe_agents.remediations._dagster import COMPONENT, LAUNCH_ANSWER, latest_run, launch, wait_for

__all__ = ["spec"]

RERUN = (
    """
mutation Rerun($parent: String!) {
  launchRunReexecution(reexecutionParams: {parentRunId: $parent, strategy: ALL_STEPS}) {
"""
    + LAUNCH_ANSWER
    + """
  }
}
"""
)


class RerunParams(Params):
    job: str = Field(min_length=1, description="The job whose latest run failed (the finding's subject).")
    run_id: str = Field(min_length=1, description="That failed run: the parent of the re-execution.")
    wait_seconds: float = Field(default=300.0, gt=0, le=3600)


@remediation("dagster.rerun_failed_job", params=RerunParams, risk="low")
async def spec(ctx: HealContext, params: RerunParams) -> list[Step]:
    """Re-execute a job's failed latest run (all steps) and wait for it to succeed."""
    latest = await latest_run(ctx, params.job)
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
        where = latest.origin.location if latest.origin else None
        new_id = await launch(
            ctx, RERUN, "launchRunReexecution", {"parent": parent}, what="re-execution", location=where
        )
        status = await wait_for(ctx, new_id, params.wait_seconds)
        if status != "SUCCESS":
            raise RemediationError(f"the re-execution {new_id} of {params.job} ended {status}; its log says why")
        before = {"run_id": parent, "status": latest.status}
        return Change(action=action, before=before, after={"run_id": new_id, "status": status})

    return [Step(action=action, run=run)]
