"""dagster.migrate_storage: the Job it builds from a webserver's pod template (no lab), and against the
unmigrated-schema lab: the playbook's parameters filled from the postgres probe's cause, a plan that changes
nothing, a run whose Job migrates the empty database to the installed alembic head (read back by the postgres
probe), and a second plan that is empty."""

from __future__ import annotations

from typing import Any

import pytest

from floe_agents.dagster_alembic import installed_head
from floe_agents.findings import Status
from floe_agents.heal_context import HealContext
from floe_agents.probes.postgres import postgres
from floe_agents.remediations._kube import Kube, Workload
from floe_agents.remediations.dagster_migrate_storage import MIGRATE_COMMAND, MigrateParams, migrate_job
from floe_agents.remediations.dagster_migrate_storage import spec as migrate
from floe_agents.remediations.dagster_schema import read_schema
from tests.remediations.conftest import FillStep
from tests.support.lab import NS, LabHandle, findings_of, probe_findings


def _webserver(name: str, labels: dict[str, str]) -> dict[str, Any]:
    ctr = {"name": "dagster-webserver", "image": "dagster/webserver:1.9", "ports": [{"containerPort": 80}],
           "env": [{"name": "DAGSTER_PG_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "pg", "key": "p"}}}],
           "envFrom": [{"configMapRef": {"name": "web-env"}}], "readinessProbe": {"httpGet": {"path": "/"}},
           "volumeMounts": [{"name": "instance", "mountPath": "/opt/dagster/dagster_home"}]}  # fmt: skip
    template = {
        "metadata": {"labels": {**labels, "pod-template-hash": "abc"},
                     "annotations": {"checksum/config": "1", "kubectl.kubernetes.io/restartedAt": "x"}},
        "spec": {"serviceAccountName": "dagster", "containers": [ctr],
                 "volumes": [{"name": "instance", "configMap": {"name": "instance"}}]},
    }  # fmt: skip
    return {"metadata": {"name": name, "labels": labels}, "spec": {"selector": {"matchLabels": labels},
                                                                    "template": template}}  # fmt: skip


def test_the_job_is_the_webservers_pod_with_the_migrate_command() -> None:
    labels = {"app.kubernetes.io/instance": "prod", "app.kubernetes.io/component": "dagster-webserver"}
    raw = _webserver("prod-dagster-webserver", labels)
    job = migrate_job(Workload.model_validate(raw), raw, MigrateParams(namespace="ns", wait_seconds=120))
    assert job["metadata"]["name"] == "prod-dagster-webserver-instance-migrate"
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (1, 120)
    assert "ttlSecondsAfterFinished" not in spec  # kept, like the chart's hook Jobs: the next diagnosis sees it ran
    assert pod["restartPolicy"] == "Never"
    assert pod["serviceAccountName"] == "dagster" and pod["volumes"] == raw["spec"]["template"]["spec"]["volumes"]
    [ctr] = pod["containers"]
    web = raw["spec"]["template"]["spec"]["containers"][0]
    assert ctr["command"] == MIGRATE_COMMAND
    assert (ctr["image"], ctr["env"], ctr["envFrom"], ctr["volumeMounts"]) == (
        web["image"], web["env"], web["envFrom"], web["volumeMounts"])  # fmt: skip
    assert "ports" not in ctr and "readinessProbe" not in ctr
    meta = job["spec"]["template"]["metadata"]
    assert meta["labels"] == {"app.kubernetes.io/instance": "prod", "app.kubernetes.io/component": "migrate"}
    assert meta["annotations"] == {"checksum/config": "1"}  # the webserver's, without a restart stamp
    # Without an instance label the release is the name's prefix (never a hard-coded one).
    bare = _webserver("acme-dagster-webserver", {"component": "dagster-webserver"})
    job = migrate_job(Workload.model_validate(bare), bare, MigrateParams(namespace="ns"))
    assert job["metadata"]["name"] == "acme-dagster-webserver-instance-migrate"
    assert job["metadata"]["labels"] == {"component": "migrate"}


@pytest.mark.lab
@pytest.mark.anyio
@pytest.mark.parametrize("lab", ["unmigrated-schema"], indirect=True)
@pytest.mark.timeout(900)  # the module's lab comes up and down inside this test's setup and teardown
async def test_migrates_the_empty_schema_to_head(lab: LabHandle, heal_ctx: HealContext, fill_step: FillStep) -> None:
    before = await probe_findings(lab, postgres)
    cause = next(f for f in findings_of(before, "postgres") if f.code == "postgres.schema_empty")
    params = migrate.parse(fill_step("dagster-migrate-schema", 0, cause.evidence))
    assert (params.namespace, params.database) == (NS, "dagster")

    step, *restarts = await migrate.plan(heal_ctx, params)
    name = "floe-dagster-dagster-webserver-instance-migrate"
    assert (step.action.verb, step.action.target) == ("run", f"Job {NS}/{name}")
    # Then Dagster's procedure: what read the instance on the old schema (daemon, user code, webserver) restarts.
    assert [(r.action.verb, r.action.target) for r in restarts] == [
        ("patch", f"Deployment {NS}/floe-dagster-daemon"),
        ("patch", f"Deployment {NS}/floe-dagster-dagster-user-deployments-floe-demo"),
        ("patch", f"Deployment {NS}/floe-dagster-dagster-webserver"),
    ]
    body: Any = step.action.body
    assert body["spec"]["template"]["spec"]["containers"][0]["command"] == MIGRATE_COMMAND
    kube = Kube(heal_ctx)
    what = "Job"
    assert await kube.call(kube.batch.read_namespaced_job, name, NS, verb="get", what=what, missing_ok=True) == {}
    assert (await read_schema(heal_ctx, "dagster")).tables == 0  # planning changed nothing

    change = await step.run()
    for restart in restarts:
        assert (await restart.run()).after["ready"] is True  # type: ignore[index,call-overload]
    head, _, _ = installed_head()
    assert change.before == {"database": "dagster", "tables": 0, "revision": None, "head": head}
    assert change.after["revision"] == head  # type: ignore[index,call-overload]
    after = await probe_findings(lab, postgres)
    schema = [f for f in findings_of(after, "postgres") if f.subject == "dagster"]
    assert [(f.code, f.status) for f in schema] == [("postgres.schema_at_head", Status.OK)]  # the fault is gone
    assert await migrate.plan(heal_ctx, params) == ()
