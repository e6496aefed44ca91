"""k8s.rollout_restart against the missing-secret lab: once the Secret exists and the Dagster pods run, changing
it (deleted and created again, so it is newer than the running containers) plans a restart of exactly the
workloads whose pod templates read it; the plan changes nothing; the run patches the restartedAt annotation and
waits for the rollouts to be Ready; new pods are running; the next plan is empty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest

from floe_agents.heal_context import HealContext
from floe_agents.remediation import Change, Step
from floe_agents.remediations._kube import Kube, later, wait_rollout
from floe_agents.remediations.k8s_create_secret import spec as create_secret
from floe_agents.remediations.k8s_rollout_restart import RESTARTED_AT
from floe_agents.remediations.k8s_rollout_restart import spec as rollout_restart
from floe_lab.manifests_dagster import DAGSTER_SECRET
from tests.support.lab import NS

pytestmark = [
    pytest.mark.lab,
    pytest.mark.anyio,
    pytest.mark.parametrize("lab", ["missing-secret"], indirect=True),
    pytest.mark.timeout(900),  # the lab comes up in this test's setup, and Dagster restarts slowly on a busy machine
]

READERS = {"floe-dagster-dagster-webserver", "floe-dagster-daemon"}
SECRET = {"namespace": NS, "name": DAGSTER_SECRET, "keys": ["postgresql-password"],
          "source": {"secret": "floe-demo-credentials"}}  # fmt: skip


async def _create_secret(ctx: HealContext) -> None:
    for step in await create_secret.plan(ctx, create_secret.parse(SECRET)):
        await step.run()


async def _restarted_at(kube: Kube, name: str) -> str | None:
    w = await kube.workload("Deployment", NS, name)
    assert w is not None
    return w.spec.template.metadata.annotations.get(RESTARTED_AT)


async def _started(kube: Kube) -> datetime:
    """The latest container start among the readers' pods."""
    stamps = []
    for w in await kube.workloads(NS):
        if w.name in READERS:
            stamps += [cs.state.running.started_at for p in await kube.pods_of(NS, w)
                       for cs in p.status.container_statuses if cs.state.running]  # fmt: skip
    newest = later(*stamps)
    assert newest is not None
    return newest


async def test_restarts_what_reads_a_changed_secret_and_waits_until_ready(heal_ctx: HealContext) -> None:
    kube = Kube(heal_ctx)
    params = rollout_restart.parse({"namespace": NS, "kind": "Secret", "name": DAGSTER_SECRET, "wait_seconds": 180})
    # The Secret exists and the pods that read it run (the kubelet retries a config error by itself).
    await _create_secret(heal_ctx)
    async with anyio.create_task_group() as tg:
        for name in READERS:
            tg.start_soon(wait_rollout, kube, NS, "Deployment", name, 240)
    assert await rollout_restart.plan(heal_ctx, params) == ()

    # The Secret changes after the containers started: delete it and create it again, a second later at least.
    started = await _started(kube)
    with anyio.fail_after(30):
        while datetime.now(UTC) < started + timedelta(seconds=1):  # noqa: ASYNC110 - the API's clock has seconds
            await anyio.sleep(0.05)
    await kube.call(kube.core.delete_namespaced_secret, DAGSTER_SECRET, NS, verb="delete", what="Secret")
    await _create_secret(heal_ctx)
    stamps = {name: await _restarted_at(kube, name) for name in READERS}  # set if the first part restarted it

    steps = await rollout_restart.plan(heal_ctx, params)
    assert {s.action.target for s in steps} == {f"Deployment {NS}/{n}" for n in READERS}
    assert all("started before Secret" in s.action.summary for s in steps)
    assert {name: await _restarted_at(kube, name) for name in READERS} == stamps  # planning changed nothing

    changes: dict[str, Change] = {}

    async def run(step: Step) -> None:
        changes[step.action.target.rsplit("/", 1)[1]] = await step.run()

    async with anyio.create_task_group() as tg:  # the steps are independent: both rollouts at once
        for step in steps:
            tg.start_soon(run, step)
    assert {name: c.before for name, c in changes.items()} == {n: {RESTARTED_AT: stamps[n]} for n in READERS}
    for name, change in changes.items():  # restarted on the server: a new template, rolled out, Ready
        now = await _restarted_at(kube, name)
        assert now is not None and now != stamps[name]
        assert change.after == {RESTARTED_AT: now, "ready": True}
    assert await _started(kube) > started
    assert await rollout_restart.plan(heal_ctx, params) == ()
