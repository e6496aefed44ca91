"""``k8s.rerun_job``: run a failed Job again, once what made it fail is fixed, and wait for it to Complete.

Why: a Helm hook Job (the catalog's init, the seed data) that failed is never run again by anything — the Job
controller gave up at its backoffLimit, and Helm only re-creates hook Jobs on the next ``helm upgrade``. After
heal has fixed the secret, schema or catalog it failed on, the Job still says Failed, what it was meant to create
may still be missing, and nobody can tell whether it *would* succeed now. Running it again is the proof. It is
deleted and created again from its own spec (``_kube_jobs``: what the controller generated left out, a
server-side dry run first), as ``helm upgrade`` does for a ``before-hook-creation`` hook; the step waits, bounded,
for it to Complete, and a Job that fails again is an error quoting its pod's own words.

Idempotent: a Job that Completed (or is absent) plans nothing, so a second heal is a no-op. A Job still running
is left alone: that is an error, never a second copy. The playbook that uses this only answers *hook* Jobs (they
are written to be run again by every upgrade); any other Job is a person's call.
"""

from __future__ import annotations

from pydantic import Field

from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.remediation import Action, Change, Params, Step, remediation
from floe_agents.remediations._kube import Json, Kube
from floe_agents.remediations._kube_jobs import finished, recreated_job, rerun_job

__all__ = ["RerunJobParams", "spec"]


class RerunJobParams(Params):
    namespace: str = Field(min_length=1)
    job: str = Field(min_length=1, description="The failed Job's name.")
    wait_seconds: float = Field(300.0, ge=0, le=1800, description="Wait for it to Complete (0: do not wait).")


@remediation(
    "k8s.rerun_job",
    params=RerunJobParams,
    risk="medium",
    permissions=[
        ("get", "jobs.batch"),
        ("list", "jobs.batch"),
        ("watch", "jobs.batch"),
        ("delete", "jobs.batch"),
        ("create", "jobs.batch"),
        ("list", "pods"),
        ("get", "pods/log"),
    ],
)
async def spec(ctx: HealContext, params: RerunJobParams) -> list[Step]:
    """Run a failed Job again (deleted and created from its own spec) and wait for it to Complete."""
    kube, ns = Kube(ctx), params.namespace
    what = f"Job {ns}/{params.job}"
    raw = await kube.call(kube.batch.read_namespaced_job, params.job, ns, verb="get", what=what, missing_ok=True)
    if not raw:
        return []  # nothing to run again (deleted since the diagnosis)
    state = finished(raw)
    if state == "Complete":
        return []
    if state is None:
        raise RemediationError(f"{what} is still running: let it finish (or delete it) and heal again")
    conditions: list[Json] = (raw.get("status") or {}).get("conditions") or []
    condition = next((c for c in conditions if c.get("type") == "Failed"), {})
    before = {"job": "Failed", "reason": condition.get("reason"), "uid": raw.get("metadata", {}).get("uid")}
    job = recreated_job(raw)
    action = Action(
        kind="kubernetes", verb="replace", target=what, body=ctx.mask(job),
        summary=f"run the failed {what} again (deleted and created from its own spec, as helm upgrade re-creates a "
        f"hook Job) and wait for it to Complete",
        undo="nothing to undo: the Job runs its own spec again; its failed run's pods are deleted with it",
    )  # fmt: skip

    async def run() -> Change:
        outcome = await rerun_job(kube, ns, job, params.wait_seconds)
        return Change(action=action, before=before, after={"job": outcome})

    return [Step(action=action, run=run)]
