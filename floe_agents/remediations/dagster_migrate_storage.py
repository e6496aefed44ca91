"""``dagster.migrate_storage``: run ``dagster instance migrate`` as the Dagster chart's own migrate Job would.

Why a Job built from the webserver's pod template: the migration must run with exactly the image, instance
config (the mounted ``dagster.yaml``), env, envFrom (the PostgreSQL password Secret), volumes, service account
and annotations the webserver runs with — that is what the chart's ``job-instance-migrate.yaml`` does, and it is
the only way the migration talks to the same database the same way. Named as the chart names it,
``<release>-dagster-webserver-instance-migrate`` (release from the webserver's ``app.kubernetes.io/instance``
label, else its name), with the pod labels' component set to ``migrate`` so the webserver's Service and
ReplicaSet never select it. ``restartPolicy: Never``, a small ``backoffLimit``, ``activeDeadlineSeconds`` (the
wait) bound it; a finished Job of the same name is replaced. The Job is kept when it has finished (no
``ttlSecondsAfterFinished`` unless asked for), like the chart's other hook Jobs: the next diagnosis then sees that
the migration ran, instead of a migrate Job missing beside kept hook Jobs.

Proof is the database, not the Job: "Completed" says only that a process exited 0, so after the Job completes
the ``alembic_version`` is read back and must be the installed head (:mod:`.dagster_schema`, the postgres
probe's reading). A Failed Job is an error quoting its pod's termination message and log tail. Then, as Dagster's
upgrade procedure says, the release's webserver, daemon and user-code Deployments are restarted (``kubectl
rollout restart``, waited for): they ran against the old schema, and keep reporting what they met there (the
daemon's heartbeat errors, a code location's load error: missing ``runs``/``kvs`` tables) until they restart.
The plan is empty when the schema is already at head. A migration cannot be undone by heal: the undo text says
to restore a backup.
"""

from __future__ import annotations

import copy

import anyio
from pydantic import Field

from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.remediation import Action, Change, Params, Step, remediation
from floe_agents.remediations._kube import Json, Kube, Workload, restart_step
from floe_agents.remediations._kube_jobs import failure, finished
from floe_agents.remediations.dagster_schema import SchemaState, read_schema

__all__ = ["MIGRATE_COMMAND", "MigrateParams", "migrate_job", "spec"]

MIGRATE_COMMAND = ["dagster", "instance", "migrate"]
WEBSERVER_SELECTORS = ("app.kubernetes.io/component=dagster-webserver", "component=dagster-webserver")
# What reads the storage the migration changed, and is restarted after it (Dagster's upgrade procedure): the
# chart's webserver and daemon, and its user-code servers (they load the instance too: a code location that met
# the old schema keeps its load error until it restarts).
STORAGE_READERS = ("dagster-webserver", "dagster-daemon", "user-deployments")
_COMPONENT_LABELS = ("app.kubernetes.io/component", "component")
_NOT_FOR_JOBS = ("ports", "readinessProbe", "livenessProbe", "startupProbe", "lifecycle", "args")


class MigrateParams(Params):
    namespace: str = Field(min_length=1)
    webserver: str | None = Field(None, description="The webserver Deployment; default: found by the chart's labels.")
    container: str | None = Field(None, description="Its container to copy; default: the first.")
    database: str = Field("dagster", min_length=1)
    wait_seconds: float = Field(180.0, gt=0, le=3600, description="activeDeadlineSeconds, and how long to wait.")
    backoff_limit: int = Field(1, ge=0, le=6)
    ttl_seconds: int | None = Field(None, ge=0, description="ttlSecondsAfterFinished of the Job (default: kept).")


async def _webserver(kube: Kube, p: MigrateParams) -> tuple[Workload, Json]:
    read, _, _ = kube.workload_api("Deployment")
    names = [p.webserver] if p.webserver else []
    for selector in () if p.webserver else WEBSERVER_SELECTORS:
        names = [w.name for w in await kube.workloads(p.namespace, selector) if w.kind == "Deployment"]
        if names:
            break
    if len(names) != 1:
        found = f"found {', '.join(names)}" if names else "found none"
        raise RemediationError(f"need exactly one Dagster webserver Deployment in {p.namespace} ({found})")
    raw = await kube.call(read, names[0], p.namespace, verb="get", what=f"Deployment {p.namespace}/{names[0]}",
                          missing_ok=True)  # fmt: skip
    if not raw:
        raise RemediationError(f"no Deployment {p.namespace}/{names[0]}")
    return Workload.model_validate({**raw, "kind": "Deployment"}), raw


def migrate_job(web: Workload, raw: Json, p: MigrateParams) -> Json:
    """The migrate Job: the webserver's pod template with the migrate command, labelled as the chart's Job."""
    release = web.metadata.labels.get("app.kubernetes.io/instance") or web.name.removesuffix("-dagster-webserver")
    name = f"{release}-dagster-webserver-instance-migrate"[:63].rstrip("-")
    template = copy.deepcopy(raw["spec"]["template"])
    meta, pod = template.setdefault("metadata", {}), template.setdefault("spec", {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != "pod-template-hash"}
    labels.update({k: "migrate" for k in _COMPONENT_LABELS if k in labels} or {_COMPONENT_LABELS[0]: "migrate"})
    meta["labels"] = labels
    meta["annotations"] = {k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith("kubectl.")}
    containers = pod.get("containers") or []
    chosen = next((c for c in containers if c.get("name") == p.container), None) if p.container else None
    if chosen is None and (p.container or not containers):
        raise RemediationError(f"Deployment {web.name} has no container {p.container or ''}".strip())
    ctr = {k: v for k, v in (chosen or containers[0]).items() if k not in _NOT_FOR_JOBS}
    pod["containers"] = [{**ctr, "command": list(MIGRATE_COMMAND)}]
    pod["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": p.namespace, "labels": labels},
        "spec": {
            "backoffLimit": p.backoff_limit,
            "activeDeadlineSeconds": int(p.wait_seconds),
            "template": template,
        }
        | ({} if p.ttl_seconds is None else {"ttlSecondsAfterFinished": p.ttl_seconds}),
    }


def _step(ctx: HealContext, kube: Kube, p: MigrateParams, job: Json, *, old: Json, state: SchemaState) -> Step:
    ns, name = p.namespace, job["metadata"]["name"]
    what = f"Job {ns}/{name}"
    replaced = f"replace the finished Job {name}, then " if old else ""
    action = Action(
        kind="kubernetes",
        verb="run",
        target=what,
        summary=f"{replaced}run `dagster instance migrate` as {what} (the webserver's image, env and secrets) and "
        f"confirm alembic_version reaches {state.head} (now {state.revision or 'none'}, {state.tables} tables)",
        body=ctx.mask(job),
        undo="cannot be undone by heal: restore the dagster database from a backup taken before the migration",
    )

    async def run() -> Change:
        if old:
            await kube.call(kube.batch.delete_namespaced_job, name, ns, verb="delete", what=what, missing_ok=True,
                            propagation_policy="Background")  # fmt: skip
        try:
            await kube.call(kube.batch.create_namespaced_job, ns, job, verb="create", what=what, dry_run="All")
        except RemediationError as exc:
            raise RemediationError(f"server-side dry run refused: {exc}") from None
        await kube.call(kube.batch.create_namespaced_job, ns, job, verb="create", what=what)

        async def read() -> Json:
            return await kube.call(kube.batch.read_namespaced_job, name, ns, verb="get", what=what)

        done: Json = {}
        with anyio.move_on_after(p.wait_seconds + 30):
            done = await kube.wait_for(kube.batch.list_namespaced_job, read, ns, name, lambda j: bool(finished(j)))
        if not done:
            raise RemediationError(f"{what} did not finish within {p.wait_seconds + 30:g}s")
        if finished(done) == "Failed":
            raise RemediationError(f"{what} failed: {await failure(kube, ns, done)}")
        after = await read_schema(ctx, p.database)
        if after.revision != after.head:
            raise RemediationError(f"{what} completed but {p.database} is at {after.revision or 'no revision'}, "
                                   f"not head {after.head}")  # fmt: skip
        return Change(action=action, before=state.shown(), after=after.shown())

    return Step(action=action, run=run)


@remediation(
    "dagster.migrate_storage",
    params=MigrateParams,
    risk="medium",
    permissions=[
        ("get", "deployments.apps"),
        ("list", "deployments.apps"),
        ("watch", "deployments.apps"),
        ("patch", "deployments.apps"),
        ("list", "statefulsets.apps"),
        ("create", "jobs.batch"),
        ("watch", "jobs.batch"),
        ("get", "jobs.batch"),
        ("delete", "jobs.batch"),
        ("list", "pods"),
        ("get", "pods/log"),
    ],
)
async def spec(ctx: HealContext, params: MigrateParams) -> list[Step]:
    """Run Dagster's storage migration as a Job built from the webserver's pod template; confirm alembic head."""
    state = await read_schema(ctx, params.database)
    if not state.needs_migration:
        return []
    kube = Kube(ctx)
    web, raw = await _webserver(kube, params)
    job = migrate_job(web, raw, params)
    name, ns = job["metadata"]["name"], params.namespace
    old = await kube.call(kube.batch.read_namespaced_job, name, ns, verb="get", what=f"Job {ns}/{name}",
                          missing_ok=True)  # fmt: skip
    if old and not finished(old):
        raise RemediationError(f"Job {ns}/{name} is still running: let it finish (or delete it) and heal again")
    why = "it ran against the unmigrated schema (Dagster's procedure: restart what reads the instance after "
    why += "`dagster instance migrate`; errors met on the old schema stay until it does)"
    restarts = [restart_step(ctx, kube, ns, w, why=why, wait_seconds=params.wait_seconds)
                for w in await _storage_readers(kube, ns, web)]  # fmt: skip
    return [_step(ctx, kube, params, job, old=old, state=state), *restarts]


async def _storage_readers(kube: Kube, ns: str, web: Workload) -> list[Workload]:
    """The release's webserver, daemon and user-code Deployments (the chart's component labels) that run anything."""
    release = web.metadata.labels.get("app.kubernetes.io/instance")
    selector = f"app.kubernetes.io/instance={release}" if release else None
    return [w for w in await kube.workloads(ns, selector)
            if w.kind == "Deployment" and w.spec.replicas != 0 and not w.spec.paused
            and any(w.metadata.labels.get(k) in STORAGE_READERS for k in _COMPONENT_LABELS)]  # fmt: skip
