"""k8s.rerun_job against the healthy lab: a hook Job (the seed-data Job's spec, its Polaris secret read from a
Secret holding a wrong value) fails for real in the lab's kubelet. The rerun-failed-job playbook's parameters
come from the kubernetes probe's finding; the plan changes nothing; run while the Secret is still wrong, the Job
fails again and the step says so with the pod's own words; once the Secret is right, the run deletes and creates
the Job from its own spec and it Completes; the probe then sees no failed Job and no Warning about it (the old
one's events are about another uid); and the next plan is empty."""

from __future__ import annotations

import base64
from typing import Any

import anyio
import pytest

from floe_agents.findings import Finding
from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.probes.kubernetes import kubernetes
from floe_agents.remediations._kube import Json, Kube
from floe_agents.remediations._kube_jobs import finished, recreated_job
from floe_agents.remediations.k8s_rerun_job import spec as rerun
from floe_lab.manifests_dagster import CREDS
from tests.remediations.conftest import FillStep
from tests.support.lab import NS, LabHandle, findings_of, probe_findings

pytestmark = [
    pytest.mark.lab,
    pytest.mark.anyio,
    pytest.mark.parametrize("lab", ["healthy"], indirect=True),
    pytest.mark.timeout(900),  # the lab comes up in this test's setup; the Job imports pyiceberg on a busy machine
]

JOB, SECRET, KEY = "floe-rerun-check", "floe-rerun-check", "polaris-client-secret"


def _secret(value: str) -> Json:
    data = {KEY: base64.b64encode(value.encode()).decode()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": SECRET, "namespace": NS}, "data": data}


def _reading_our_secret(pod_spec: Json) -> None:
    for ctr in pod_spec.get("containers") or []:
        for var in ctr.get("env") or []:
            if var.get("name") == "POLARIS_CLIENT_SECRET":
                var["valueFrom"] = {"secretKeyRef": {"name": SECRET, "key": KEY}}


async def _read(kube: Kube) -> Json:
    return await kube.call(kube.batch.read_namespaced_job, JOB, NS, verb="get", what="Job", missing_ok=True)


async def _failed_job(kube: Kube) -> Json:
    """The seed-data Job's spec under another name, reading a wrong Polaris secret: it fails, for real."""
    seed = await kube.call(kube.batch.read_namespaced_job, "floe-infra-seed-data", NS, verb="get", what="Job")
    job = recreated_job(seed, _reading_our_secret)
    job["metadata"] = {**job["metadata"], "name": JOB}
    job["spec"]["backoffLimit"] = 0
    await kube.call(kube.core.create_namespaced_secret, NS, _secret("not-the-secret"), verb="create", what="Secret")
    await kube.call(kube.batch.create_namespaced_job, NS, job, verb="create", what="Job")
    with anyio.fail_after(300):
        return await kube.wait_for(kube.batch.list_namespaced_job, lambda: _read(kube), NS, JOB,
                                   lambda j: finished(j) == "Failed")  # fmt: skip


def _about_our_job(findings: list[Finding]) -> list[Any]:
    return [(f.code, f.status.value) for f in findings if JOB in f.subject and f.code != "k8s.ok"]


async def test_a_failed_hook_job_is_run_again_once_its_cause_is_fixed(
    lab: LabHandle, heal_ctx: HealContext, fill_step: FillStep
) -> None:
    kube = Kube(heal_ctx)
    failed = await _failed_job(kube)
    inv = await probe_findings(lab, kubernetes)
    cause = next(
        f for f in findings_of(inv, "kubernetes") if f.code == "k8s.hook_job_failed" and f.subject == f"job/{JOB}"
    )
    params = rerun.parse(fill_step("rerun-failed-job", 0, cause.evidence))
    assert (params.namespace, params.job) == (NS, JOB)

    [step] = await rerun.plan(heal_ctx, params)
    assert (step.action.verb, step.action.target) == ("replace", f"Job {NS}/{JOB}")
    body: Any = step.action.body
    assert "selector" not in body["spec"] and "uid" not in body["metadata"] and "status" not in body
    assert (await _read(kube))["metadata"]["uid"] == failed["metadata"]["uid"]  # the plan wrote nothing

    with pytest.raises(RemediationError, match=f"Job {NS}/{JOB} failed"):  # its cause is still there
        await step.run()

    right = await kube.call(kube.core.read_namespaced_secret, CREDS, NS, verb="get", what="Secret")
    value = base64.b64decode(right["data"][KEY]).decode()
    await kube.call(kube.core.replace_namespaced_secret, SECRET, NS, _secret(value), verb="replace", what="Secret")
    again = (await _read(kube))["metadata"]["uid"]
    [step] = await rerun.plan(heal_ctx, params)
    change = await step.run()
    assert isinstance(change.before, dict) and change.before["job"] == "Failed"
    assert change.after == {"job": "Complete"}
    done = await _read(kube)
    assert done["metadata"]["uid"] != again and finished(done) == "Complete"
    after = await probe_findings(lab, kubernetes)
    assert (
        _about_our_job(findings_of(after, "kubernetes")) == []
    )  # neither the Job nor the Warning its failed runs left
    assert await rerun.plan(heal_ctx, params) == ()
